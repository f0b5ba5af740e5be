package framework

import (
	"path"
	"sort"
	"strings"
)

// pyModule is one scanned .py file.
type pyModule struct {
	path    string
	stmts   []pyStmt
	imports []pyImport
}

// pyProject indexes the Python files of a generation.
type pyProject struct {
	mods  map[string]*pyModule
	paths []string        // sorted paths of mods
	dirs  map[string]bool // every directory that has a .py file somewhere below it
}

// newPyProject scans every .py file that could be application code.
func newPyProject(files map[string][]byte) *pyProject {
	p := &pyProject{mods: map[string]*pyModule{}, dirs: map[string]bool{}}
	for name, body := range files {
		if !strings.HasSuffix(name, ".py") || skipPath(name) {
			continue
		}
		stmts := scanPython(withoutBOM(body))
		p.mods[name] = &pyModule{path: name, stmts: stmts, imports: parseImports(stmts)}
		p.paths = append(p.paths, name)
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			p.dirs[d] = true
		}
	}
	sort.Strings(p.paths)
	return p
}

// withoutBOM returns the text of a file without a UTF-8 byte order mark,
// which editors on Windows put before the first import.
func withoutBOM(body []byte) string {
	return strings.TrimPrefix(string(body), "\ufeff")
}

// skipPath reports whether a file is outside the application proper:
// vendored environments, caches, hidden directories and tests. A test module
// often builds its own FastAPI() or Flask() and must not be taken for the app.
func skipPath(name string) bool {
	parts := strings.Split(name, "/")
	for _, d := range parts[:len(parts)-1] {
		switch d {
		case "node_modules", "venv", "env", "site-packages", "__pycache__", "tests", "test", "migrations":
			return true
		}
		if strings.HasPrefix(d, ".") {
			return true
		}
	}
	base := parts[len(parts)-1]
	return strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py") ||
		base == "conftest.py" || base == "setup.py" || strings.HasPrefix(base, ".")
}

// importsPkg reports whether any module imports pkg or one of its submodules.
func (p *pyProject) importsPkg(pkg string) bool {
	for _, m := range p.mods {
		for _, imp := range m.imports {
			if imp.level == 0 && isModuleOrSub(imp.module, pkg) {
				return true
			}
		}
	}
	return false
}

// isModuleOrSub reports whether mod is pkg or inside it.
func isModuleOrSub(mod, pkg string) bool {
	return mod == pkg || strings.HasPrefix(mod, pkg+".")
}

func firstComponent(dotted string) string {
	head, _, _ := strings.Cut(dotted, ".")
	return head
}

// moduleName turns a file path into the dotted name it is imported by when
// root is on sys.path; ok is false when some part is not an identifier.
func moduleName(root, file string) (string, bool) {
	rel := file
	if root != "" {
		var found bool
		if rel, found = strings.CutPrefix(file, root+"/"); !found {
			return "", false
		}
	}
	rel = strings.TrimSuffix(rel, ".py")
	rel = strings.TrimSuffix(rel, "/__init__")
	parts := strings.Split(rel, "/")
	for _, part := range parts {
		if !isPyIdent(part) || part == "__init__" {
			return "", false
		}
	}
	return strings.Join(parts, "."), true
}

// localAt reports whether the dotted module resolves to a file or directory
// of the generation when root is on sys.path.
func (p *pyProject) localAt(root, dotted string) bool {
	rel := strings.ReplaceAll(dotted, ".", "/")
	if root != "" {
		rel = root + "/" + rel
	}
	return p.mods[rel+".py"] != nil || p.dirs[rel]
}

// ancestors lists dir and the directories above it, shallowest first,
// "" standing for the generation's root.
func ancestors(dir string) []string {
	if dir == "." || dir == "" {
		return []string{""}
	}
	parts := strings.Split(dir, "/")
	out := []string{""}
	for i := range parts {
		out = append(out, strings.Join(parts[:i+1], "/"))
	}
	return out
}

// importRoot picks the directory to put on sys.path (and run from) so that
// the file's imports resolve. Generated code is inconsistent: a backend/
// directory without __init__.py whose modules say "from routers import
// items" only works from inside backend/, while "from backend.routers import
// items" works from the root. Each absolute import of a local module votes
// for the roots where it resolves (imports in the file itself count double);
// the shallowest root with the most votes wins, so the root is kept unless
// the imports say otherwise.
func (p *pyProject) importRoot(file string) (string, bool) {
	dir := path.Dir(file)
	var roots []string
	for _, r := range ancestors(dir) {
		if _, ok := moduleName(r, file); ok {
			roots = append(roots, r)
		}
	}
	if len(roots) <= 1 {
		if len(roots) == 0 {
			return "", false
		}
		return roots[0], true
	}
	votes := make([]int, len(roots))
	for _, name := range p.paths {
		weight := 1
		switch {
		case name == file:
			weight = 2
		case dir != "." && !strings.HasPrefix(name, dir+"/"):
			continue
		}
		for _, imp := range p.mods[name].imports {
			if imp.level > 0 {
				if name == file {
					// A relative import needs the file inside a package.
					for k, r := range roots {
						if m, _ := moduleName(r, file); strings.Contains(m, ".") {
							votes[k] += weight
						}
					}
				}
				continue
			}
			for k, r := range roots {
				if p.localAt(r, imp.module) {
					votes[k] += weight
				}
			}
		}
	}
	best := 0
	for k := range roots {
		if votes[k] > votes[best] {
			best = k
		}
	}
	return roots[best], true
}

// dottedFromRoot is the module name of file with the generation's root on
// sys.path, or its path when that is not a valid name; it is used only to
// match imports against files.
func dottedFromRoot(file string) string {
	if m, ok := moduleName("", file); ok {
		return m
	}
	return file
}

// importsFile reports whether module m imports the module in file target,
// directly or as "from pkg import target".
func (m *pyModule) importsFile(target string) bool {
	want := dottedFromRoot(target)
	pkg := strings.Split(dottedFromRoot(m.path), ".")
	if !strings.HasSuffix(m.path, "/__init__.py") {
		pkg = pkg[:len(pkg)-1]
	}
	for _, imp := range m.imports {
		mod := imp.module
		if imp.level > 0 {
			if imp.level-1 > len(pkg) {
				continue
			}
			base := strings.Join(pkg[:len(pkg)-(imp.level-1)], ".")
			mod = strings.Trim(base+"."+imp.module, ".")
		}
		for _, full := range []string{mod, strings.Trim(mod+"."+imp.name, ".")} {
			if full != "" && (want == full || strings.HasSuffix(want, "."+full)) {
				return true
			}
		}
	}
	return false
}
