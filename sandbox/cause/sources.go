package cause

import (
	"regexp"
	"sort"
	"strings"
)

// reServerStart matches a line that starts a server itself: app.listen,
// Flask's app.run, uvicorn.run, wsgiref's make_server, Django's runserver.
var reServerStart = regexp.MustCompile(`\.listen\s*\(|\b(?:app|application|server)\.run\s*\(|\buvicorn\.run\s*\(|\bcreateServer\s*\(|\bmake_server\s*\(|runserver`)

// place fills in the file and line of a cause the output left unplaced,
// from the app's sources.
func place(c *Cause, sources map[string]string) {
	if len(sources) == 0 {
		return
	}
	switch c.Kind {
	case ImportError:
		if c.Symbol == "" || c.Line != 0 && mentions(sources[c.File], c.Line, c.Symbol) {
			return
		}
		// The import, or the setting that names the module as a string.
		quoted := regexp.MustCompile(`(?:['"]` + regexp.QuoteMeta(c.Symbol) + `['"/]|^\s*(?:import|from)\s+` + regexp.QuoteMeta(c.Symbol) + `\b)`)
		if file, line := find(sources, c.File, quoted); file != "" {
			c.File, c.Line = file, line
		}
	case ExceptionAtStart:
		// Django's system check names a model or field ("blog.Post.author"),
		// not a line: find its definition in the app's models.py.
		label, _, found := strings.Cut(c.Message, ": ")
		if c.Line != 0 || !found || !strings.HasSuffix(c.File, "models.py") {
			return
		}
		parts := strings.Split(label, ".")
		re := regexp.MustCompile(`^\s*class\s+` + regexp.QuoteMeta(parts[len(parts)-1]) + `\b`)
		if len(parts) >= 3 {
			re = regexp.MustCompile(`^\s*` + regexp.QuoteMeta(parts[len(parts)-1]) + `\s*=`)
		}
		if file, line := find(map[string]string{c.File: sources[c.File]}, c.File, re); file != "" {
			c.Line = line
		}
	case DependencyInstall, VersionConflict:
		if c.Symbol == "" {
			return
		}
		manifest := map[string]string{}
		for _, name := range []string{"requirements.txt", "package.json", "pyproject.toml"} {
			if src, ok := sources[name]; ok {
				manifest[name] = src
			}
		}
		if file, line := find(manifest, "", regexp.MustCompile(`(?i)(?:^|["'\s])`+regexp.QuoteMeta(c.Symbol)+`(?:$|["'\s=<>~!\[;])`)); file != "" {
			c.File, c.Line = file, line
		}
	case PortNotOpened:
		// Only a failure with an address or an error to show has a line
		// to point at; an app that never tried to listen has none.
		if c.Line != 0 || c.Symbol == "" {
			return
		}
		if file, line := find(sources, c.File, reServerStart); file != "" {
			c.File, c.Line = file, line
		}
	}
}

// find is the first line matching re, in prefer first, then in the other
// files by path; library and dependency directories do not count.
func find(sources map[string]string, prefer string, re *regexp.Regexp) (string, int) {
	paths := make([]string, 0, len(sources))
	for p := range sources {
		if appPath(AppRoot+"/"+p) != "" && p != prefer {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	if _, ok := sources[prefer]; ok && prefer != "" {
		paths = append([]string{prefer}, paths...)
	}
	for _, p := range paths {
		for i, l := range strings.Split(sources[p], "\n") {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
				continue
			}
			if re.MatchString(l) {
				return p, i + 1
			}
		}
	}
	return "", 0
}

// mentions reports whether line n of src names the module sym (its first
// component, as "from a import b" names a.b).
func mentions(src string, n int, sym string) bool {
	lines := strings.Split(src, "\n")
	if n < 1 || n > len(lines) {
		return src == "" // without the source, trust the traceback
	}
	top, _, _ := strings.Cut(sym, ".")
	top = strings.TrimPrefix(top, "./")
	return strings.Contains(lines[n-1], top)
}
