package framework

import (
	"path"
	"sort"
	"strings"
)

// pyApp is an application object found in a module.
type pyApp struct {
	file    string
	line    int
	attr    string // the variable, or the factory function
	factory bool   // attr must be called to get the application
}

// pyAppSearch is the outcome of looking for one framework's application
// class; the extra fields let the error say what was found instead.
type pyAppSearch struct {
	apps      []pyApp
	needsArgs []string // "name in file" of factories that need arguments
	routers   []string // files that only build a router or blueprint
}

// findApps looks for module-level variables holding an instance of
// pkg.class, for variables assigned from a call of a factory that builds
// one, and for such factories themselves. sub names the class that
// marks a module as a part of an application (APIRouter, Blueprint), used
// only to explain a failure.
func (p *pyProject) findApps(pkg, class, sub string) pyAppSearch {
	var res pyAppSearch
	// factories maps a file to its factory functions; the second pass
	// needs them all.
	factories := map[string]map[string]pyDef{}
	for _, name := range p.paths {
		m := p.mods[name]
		refs := refsTo(m.imports, pkg, class)
		if !refs.any() {
			if refsTo(m.imports, pkg, sub).any() {
				res.routers = append(res.routers, name)
			}
			continue
		}
		for _, s := range m.stmts {
			if s.indent != 0 {
				continue
			}
			if targets, value, ok := splitAssign(s); ok && refs.callAt(value, 0) {
				res.apps = append(res.apps, pyApp{file: name, line: s.line, attr: targets[0]})
			}
		}
		for _, d := range topLevelDefs(m.stmts) {
			builds := refs.callsIn(d.body) && hasName(d.body, "return")
			annotated := len(d.returns) > 0 && refs.refAt(d.returns, 0) == len(d.returns)
			if !builds && !annotated {
				continue
			}
			if factories[name] == nil {
				factories[name] = map[string]pyDef{}
			}
			factories[name][d.name] = d
		}
	}
	// Second pass: app = create_app(), the factory being local or imported.
	for _, name := range p.paths {
		m := p.mods[name]
		local := factories[name]
		imported := map[string]bool{}
		for _, imp := range m.imports {
			if imp.name == "" || imp.name == "*" {
				continue
			}
			for file, fs := range factories {
				if _, ok := fs[imp.name]; ok && m.importsFile(file) {
					imported[imp.alias] = true
				}
			}
		}
		for _, s := range m.stmts {
			if s.indent != 0 {
				continue
			}
			targets, value, ok := splitAssign(s)
			if !ok || len(value) < 2 || value[0].kind != pyName || !(value[1].kind == pyOp && value[1].text == "(") {
				continue
			}
			if _, isLocal := local[value[0].text]; isLocal || imported[value[0].text] {
				res.apps = append(res.apps, pyApp{file: name, line: s.line, attr: targets[0]})
			}
		}
	}
	for file, fs := range factories {
		for fn, d := range fs {
			if d.required {
				res.needsArgs = append(res.needsArgs, fn+" in "+file)
				continue
			}
			res.apps = append(res.apps, pyApp{file: file, line: d.line, attr: fn, factory: true})
		}
	}
	sort.Strings(res.needsArgs)
	return res
}

// bestApp picks the application to run when several are found. In order:
// an app that no other candidate imports (the others are mounted sub-apps
// or factories that a run.py calls), a variable over a factory (it is what
// the author runs), a conventional file name, a shallower file, a
// conventional variable name, then the path and line for a stable answer.
func (p *pyProject) bestApp(apps []pyApp) pyApp {
	imported := func(a pyApp) bool {
		for _, b := range apps {
			if b.file != a.file && p.mods[b.file].importsFile(a.file) {
				return true
			}
		}
		return false
	}
	type ranked struct {
		app  pyApp
		keys [5]int
	}
	rs := make([]ranked, len(apps))
	for i, a := range apps {
		rs[i] = ranked{a, [5]int{
			boolRank(imported(a)),
			boolRank(a.factory),
			pyFileRank(a.file),
			strings.Count(a.file, "/"),
			pyAttrRank(a.attr),
		}}
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].keys != rs[j].keys {
			for k := range rs[i].keys {
				if rs[i].keys[k] != rs[j].keys[k] {
					return rs[i].keys[k] < rs[j].keys[k]
				}
			}
		}
		if rs[i].app.file != rs[j].app.file {
			return rs[i].app.file < rs[j].app.file
		}
		return rs[i].app.line < rs[j].app.line
	})
	return rs[0].app
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pyFileRank orders files by how conventional they are as an entrypoint:
// the paths the brief and the frameworks' docs use first, then well-known
// base names anywhere.
func pyFileRank(file string) int {
	for i, p := range []string{"main.py", "app.py", "app/main.py", "src/main.py", "server.py",
		"api.py", "asgi.py", "wsgi.py", "run.py", "app/__init__.py", "src/app.py", "app/app.py"} {
		if file == p {
			return i
		}
	}
	for i, b := range []string{"main.py", "app.py", "server.py", "api.py", "asgi.py", "wsgi.py",
		"run.py", "__init__.py", "application.py"} {
		if path.Base(file) == b {
			return 20 + i
		}
	}
	return 40
}

func pyAttrRank(attr string) int {
	switch attr {
	case "app", "create_app":
		return 0
	case "application", "make_app":
		return 1
	case "api", "server":
		return 2
	}
	return 3
}

// pyTarget is where an application lives, in the form the servers take.
type pyTarget struct {
	root   string // directory to run from; "" is the generation's root
	module string
	app    pyApp
}

// entrypoint renders the target for people: "app.main:app",
// "app:create_app()".
func (t pyTarget) entrypoint() string {
	if t.app.factory {
		return t.module + ":" + t.app.attr + "()"
	}
	return t.module + ":" + t.app.attr
}

// locate picks the best application and works out its import root.
func (p *pyProject) locate(apps []pyApp) (pyTarget, bool) {
	// Candidates whose path cannot be imported from any root are dropped
	// first, so that one odd file does not hide a good one.
	var ok []pyApp
	for _, a := range apps {
		if _, fine := p.importRoot(a.file); fine {
			ok = append(ok, a)
		}
	}
	if len(ok) == 0 {
		return pyTarget{}, false
	}
	app := p.bestApp(ok)
	root, _ := p.importRoot(app.file)
	mod, _ := moduleName(root, app.file)
	return pyTarget{root: root, module: mod, app: app}, true
}
