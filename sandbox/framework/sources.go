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

// ErrForeignSource is returned, wrapped with the file, the line and the
// reason, when a dependency comes from somewhere other than the package
// index or registry: a URL, a VCS repository, a local path or an option that
// points pip elsewhere. Such a dependency is fetched from wherever its author
// chose and its build scripts run during the install.
var ErrForeignSource = errors.New("dependency from outside the package index")

// ForeignSources returns an error wrapping ErrForeignSource for the first
// dependency of the generation (in the manifest Requirements reads) that is
// not a plain name and version spec served by the package index or
// registry, or nil when there is none. Manifests Requirements cannot read
// are left to it to report.
func ForeignSources(plan Plan, files map[string][]byte) error {
	files = relativeOnly(files)
	runtime := plan.Runtime
	if runtime == "" {
		runtime = RuntimePython
		if plan.Framework == Express {
			runtime = RuntimeNode
		}
	}
	if runtime == RuntimeNode {
		return nodeForeignSources(files, plan.Entrypoint)
	}
	var found []string
	for name := range files {
		if path.Base(name) == "requirements.txt" && !skipPath(name) && !skipJSPath(name) {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		return nil
	}
	sort.Slice(found, func(i, j int) bool { return pathLess(dirOf(found[i]), dirOf(found[j])) })
	return pipForeignSources(files, found[0], map[string]bool{})
}

// pipForeignSources checks file and the files it includes with -r.
func pipForeignSources(files map[string][]byte, file string, seen map[string]bool) error {
	if seen[file] {
		return nil
	}
	seen[file] = true
	for _, l := range pipLines(files[file]) {
		lineNo, line := l.no, l.text
		if include, ok := includeTarget(line); ok {
			target := path.Join(path.Dir(file), include)
			if _, exists := files[target]; include != "" && exists {
				if err := pipForeignSources(files, target, seen); err != nil {
					return err
				}
			}
			continue
		}
		if why := PipLineSource(line); why != "" {
			return fmt.Errorf("%s line %d: %q is %s: %w", file, lineNo, line, why, ErrForeignSource)
		}
	}
	return nil
}

// pipRedirects are the requirements-file options that install from, or
// trust, somewhere other than the configured index.
var pipRedirects = []string{
	"-e", "--editable", "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
}

// PipLineSource says why one logical line of a requirements file (comment
// stripped, continuations joined) installs from outside the package index:
// "a URL", "a VCS repository" and so on; "" when it is a name with an
// optional version spec, or an option that changes no source.
func PipLineSource(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "-") {
		opt, _, _ := strings.Cut(line, " ")
		opt, _, _ = strings.Cut(opt, "=")
		for _, o := range pipRedirects {
			if opt == o || len(o) == 2 && strings.HasPrefix(opt, o) && !strings.HasPrefix(opt, "--") {
				return "the option " + o + ", which installs from or trusts another source"
			}
		}
		return ""
	}
	if isVCS(line) {
		return "a VCS repository"
	}
	spec, _, _ := strings.Cut(line, ";")
	if i := strings.Index(spec, " --"); i >= 0 {
		spec = spec[:i]
	}
	if m := reqLine.FindStringSubmatch(strings.TrimSpace(spec)); m != nil && strings.HasPrefix(strings.TrimSpace(m[3]), "@") {
		return "a direct reference (name @ URL)"
	}
	if isPipLocation(line) {
		if strings.Contains(line, "://") {
			return "a URL"
		}
		return "a local path or archive"
	}
	return ""
}

// isVCS reports whether s names a VCS repository in pip's or npm's syntax.
func isVCS(s string) bool {
	for _, p := range []string{"git+", "git:", "hg+", "svn+", "bzr+"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// nodeForeignSources checks the dependencies of the package.json that
// Requirements reads.
func nodeForeignSources(files map[string][]byte, entry string) error {
	file := nearestPackageJSON(files, entry)
	if file == "" {
		return nil
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal([]byte(withoutBOM(files[file])), &pkg); err != nil {
		return nil // Requirements reports it
	}
	names := make([]string, 0, len(pkg.Dependencies))
	for name := range pkg.Dependencies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if why := NpmSpecSource(pkg.Dependencies[name]); why != "" {
			return fmt.Errorf("%s: dependency %q: %q is %s: %w", file, name, pkg.Dependencies[name], why, ErrForeignSource)
		}
	}
	return nil
}

// npmRange matches what npm reads as a version, a range or a dist-tag:
// "^4.18.0", ">=1 <2 || 3.x", "1.0.0 - 2.0.0", "latest", "*", "".
var npmRange = regexp.MustCompile(`^[A-Za-z0-9 .*^~<>=|+_-]*$`)

// npmAlias matches "npm:name" and "npm:name@range", a registry package
// under another name.
var npmAlias = regexp.MustCompile(`^npm:(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*(@(.*))?$`)

// NpmSpecSource says why a package.json dependency spec installs from
// outside the registry: "a URL", "a git repository", "a GitHub shorthand",
// "a local path"; "" when it is a version, a range, a dist-tag or an npm:
// alias of a registry package.
func NpmSpecSource(spec string) string {
	spec = strings.TrimSpace(spec)
	if m := npmAlias.FindStringSubmatch(spec); m != nil {
		return NpmSpecSource(m[3])
	}
	switch {
	case strings.Contains(spec, "://"):
		if strings.HasPrefix(spec, "git") {
			return "a git repository"
		}
		return "a URL"
	case isVCS(spec) || strings.HasPrefix(spec, "github:") || strings.HasPrefix(spec, "gitlab:") ||
		strings.HasPrefix(spec, "bitbucket:") || strings.HasPrefix(spec, "gist:"):
		return "a git repository"
	case strings.HasPrefix(spec, "file:") || strings.HasPrefix(spec, "link:") || strings.HasPrefix(spec, "workspace:") ||
		strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, "~/") || strings.HasPrefix(spec, `\`):
		return "a local path"
	case strings.Contains(spec, "/"):
		return "a GitHub shorthand (user/repo)"
	}
	lower := strings.ToLower(spec)
	if strings.HasSuffix(lower, ".tgz") || strings.HasSuffix(lower, ".tar.gz") || strings.HasSuffix(lower, ".tar") {
		return "a local path"
	}
	if !npmRange.MatchString(spec) {
		return "not a version, a range or a dist-tag"
	}
	return ""
}

// nearestPackageJSON is the package.json nearest to entry, or the root's;
// "" when there is none.
func nearestPackageJSON(files map[string][]byte, entry string) string {
	if !isCleanRelative(entry) {
		entry = "package.json"
	}
	for dir := dirOf(entry); ; dir = dirOf(dir) {
		if _, ok := files[path.Join(dir, "package.json")]; ok {
			return path.Join(dir, "package.json")
		}
		if dir == "" {
			return ""
		}
	}
}
