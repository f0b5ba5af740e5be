package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Requirement is one declared dependency.
type Requirement struct {
	Name string // Python: normalised as PEP 503 says (lowercase, runs of -_. become "-"); npm: as written
	Spec string // the version spec ("==1.2", ">=2,<3", "^4.18.0"; spaces dropped from pip specs), or ""
}

// ErrInvalidManifest is returned, wrapped with the file and line, when
// requirements.txt or package.json cannot be read.
var ErrInvalidManifest = errors.New("invalid dependency manifest")

// Requirements returns the dependencies the generation declares for the
// plan's runtime. For python it reads requirements.txt (the root's, else
// the shallowest one), then pyproject.toml's [project] dependencies and
// Poetry table for the packages requirements.txt does not list; pip's syntax: comments, blank lines, line
// continuations, extras, environment markers (requirements whose marker is
// false on the runtime image — Linux, CPython 3.11 — are left out), and
// "-r other.txt" includes resolved within files; other options, editable
// and local-path lines are ignored. For node it reads the dependencies of
// the package.json nearest the entrypoint (devDependencies are not needed
// to run). No manifest means no requirements. Bad syntax is an error
// wrapping ErrInvalidManifest.
func Requirements(plan Plan, files map[string][]byte) ([]Requirement, error) {
	files = relativeOnly(files)
	runtime := plan.Runtime
	if runtime == "" {
		runtime = RuntimePython
		if plan.Framework == Express {
			runtime = RuntimeNode
		}
	}
	if runtime == RuntimeNode {
		return nodeRequirements(files, plan.Entrypoint)
	}
	return pythonRequirements(files)
}

// pythonRequirements reads the generation's requirements.txt.
func pythonRequirements(files map[string][]byte) ([]Requirement, error) {
	var found []string
	for name := range files {
		if path.Base(name) == "requirements.txt" && !skipPath(name) && !skipJSPath(name) {
			found = append(found, name)
		}
	}
	var reqs []Requirement
	seen := map[string]bool{}
	if len(found) > 0 {
		sort.Slice(found, func(i, j int) bool { return pathLess(dirOf(found[i]), dirOf(found[j])) })
		if err := readRequirements(files, found[0], map[string]bool{}, seen, &reqs); err != nil {
			return nil, err
		}
	}
	// pyproject.toml's dependencies add what requirements.txt does not list.
	more, _, err := pyprojectRequirements(files)
	if err != nil {
		return nil, err
	}
	for _, r := range more {
		if !seen[r.Name] {
			seen[r.Name] = true
			reqs = append(reqs, r)
		}
	}
	return reqs, nil
}

// reqLine matches a PEP 508 name, optional extras and the rest.
var reqLine = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$`)

// versionClause matches one clause of a version spec, like ">= 2.0".
var versionClause = regexp.MustCompile(`^\s*(===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*$`)

// readRequirements appends the requirements of file to reqs, following
// -r includes; stack holds the files being read, to refuse include cycles,
// and seen the names already listed, so that an include repeating a
// package does not list it twice.
func readRequirements(files map[string][]byte, file string, stack, seen map[string]bool, reqs *[]Requirement) error {
	if stack[file] {
		return fmt.Errorf("%s includes itself: %w", file, ErrInvalidManifest)
	}
	stack[file] = true
	defer delete(stack, file)
	for _, l := range pipLines(files[file]) {
		lineNo, line := l.no, l.text
		bad := func(why string) error {
			return fmt.Errorf("%s line %d: %s: %q: %w", file, lineNo, why, line, ErrInvalidManifest)
		}
		if strings.HasPrefix(line, "-") {
			include, ok := includeTarget(line)
			if !ok {
				continue // -i, -c, -e, --hash and the like do not name a dependency we check
			}
			if include == "" {
				return bad("-r needs a file")
			}
			target := path.Join(path.Dir(file), include)
			if _, exists := files[target]; !exists {
				return bad("included file not in the generation")
			}
			if err := readRequirements(files, target, stack, seen, reqs); err != nil {
				return err
			}
			continue
		}
		if isPipLocation(line) {
			// A bare URL or a local path: the name is unknown until pip
			// builds it, and a local path is usually the app itself.
			continue
		}
		r, ok, err := parseRequirement(line)
		if err != nil {
			return bad(err.Error())
		}
		if ok && !seen[r.Name] {
			seen[r.Name] = true
			*reqs = append(*reqs, r)
		}
	}
	return nil
}

// pipLine is one logical line of a requirements file: continuations joined,
// comment and surrounding space stripped; no is the line it starts on.
type pipLine struct {
	no   int
	text string
}

// pipLines returns the logical lines of a requirements file that say
// something.
func pipLines(content []byte) []pipLine {
	lines := strings.Split(strings.ReplaceAll(withoutBOM(content), "\r\n", "\n"), "\n")
	var out []pipLine
	for i := 0; i < len(lines); i++ {
		no, line := i+1, lines[i]
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + lines[i]
		}
		if line = strings.TrimSpace(stripPipComment(line)); line != "" {
			out = append(out, pipLine{no, line})
		}
	}
	return out
}

// isPipLocation reports whether a line names an archive, a URL or a path
// rather than a package.
func isPipLocation(line string) bool {
	if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "/") || strings.HasPrefix(line, "~") {
		return true
	}
	word, _, _ := strings.Cut(line, " ")
	for _, ext := range []string{".whl", ".tar.gz", ".zip", ".tar.bz2"} {
		if strings.HasSuffix(word, ext) {
			return true
		}
	}
	scheme, _, found := strings.Cut(word, "://")
	return found && strings.Trim(scheme, "abcdefghijklmnopqrstuvwxyz+") == ""
}

// stripPipComment removes a comment: "#" at the start or after whitespace,
// as pip reads it (a "#" inside a URL fragment stays).
func stripPipComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return line[:i]
		}
	}
	return line
}

// includeTarget reads "-r file", "-rfile", "--requirement file" and
// "--requirement=file"; ok is false for every other option.
func includeTarget(line string) (string, bool) {
	for _, opt := range []string{"--requirement", "-r"} {
		rest, found := strings.CutPrefix(line, opt)
		if !found || opt == "--requirement" && rest != "" && rest[0] != ' ' && rest[0] != '=' && rest[0] != '\t' {
			continue
		}
		rest = strings.TrimLeft(rest, " \t=")
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return "", true
		}
		return fields[0], true
	}
	return "", false
}

// parseRequirement reads one requirement line; ok is false when its marker
// excludes it on the runtime image.
func parseRequirement(line string) (Requirement, bool, error) {
	// Per-requirement options such as --hash=... follow the spec.
	if i := strings.Index(line, " --"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	spec, marker, _ := strings.Cut(line, ";")
	m := reqLine.FindStringSubmatch(strings.TrimSpace(spec))
	if m == nil {
		return Requirement{}, false, errors.New("not a package name")
	}
	r := Requirement{Name: NormalizePyName(m[1])}
	rest := strings.TrimSpace(m[3])
	if strings.HasPrefix(rest, "@") {
		// name @ URL: a direct reference, kept as the spec.
		r.Spec = rest
	} else if rest != "" {
		v := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")"))
		for _, clause := range strings.Split(v, ",") {
			if !versionClause.MatchString(clause) {
				return Requirement{}, false, errors.New("bad version spec")
			}
		}
		r.Spec = strings.ReplaceAll(v, " ", "")
	}
	if marker = strings.TrimSpace(marker); marker != "" {
		applies, err := evalMarker(marker)
		if err != nil {
			return Requirement{}, false, fmt.Errorf("bad environment marker: %w", err)
		}
		if !applies {
			return Requirement{}, false, nil
		}
	}
	return r, true, nil
}

// NormalizePyName normalises a Python distribution name as PEP 503 says.
func NormalizePyName(name string) string {
	var b strings.Builder
	sep := false
	for _, c := range strings.ToLower(name) {
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(c)
	}
	return b.String()
}

// nodeRequirements reads the dependencies of the package.json nearest to
// the entrypoint, or the root's.
func nodeRequirements(files map[string][]byte, entry string) ([]Requirement, error) {
	file := nearestPackageJSON(files, entry)
	if file == "" {
		return nil, nil
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal([]byte(withoutBOM(files[file])), &pkg); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", file, err, ErrInvalidManifest)
	}
	reqs := make([]Requirement, 0, len(pkg.Dependencies))
	for name, spec := range pkg.Dependencies {
		reqs = append(reqs, Requirement{Name: name, Spec: spec})
	}
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].Name < reqs[j].Name })
	return reqs, nil
}

// ParseInstalled parses the image's /opt/previewd/packages.txt, one
// "name==version" a line; names are kept as written, blank lines and
// "#" comments skipped, and a line without "==" is a name with no known
// version.
func ParseInstalled(text []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, version, _ := strings.Cut(line, "==")
		if name = strings.TrimSpace(name); name != "" {
			out[name] = strings.TrimSpace(version)
		}
	}
	return out
}
