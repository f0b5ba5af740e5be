package framework

import (
	"path"
	"sort"
	"strings"
)

// isDjangoManage reports whether m is a Django manage.py rather than, say,
// a Flask-Script one.
func isDjangoManage(m *pyModule) bool {
	if path.Base(m.path) != "manage.py" {
		return false
	}
	if _, ok := stringAfter(m.stmts, "DJANGO_SETTINGS_MODULE"); ok {
		return true
	}
	for _, imp := range m.imports {
		if imp.level == 0 && isModuleOrSub(imp.module, "django") {
			return true
		}
	}
	return false
}

// hasDjangoManage reports whether the generation has a Django manage.py.
func hasDjangoManage(py *pyProject) bool {
	for _, name := range py.paths {
		if isDjangoManage(py.mods[name]) {
			return true
		}
	}
	return false
}

// djangoPlan finds manage.py, the settings module it names and the WSGI
// application the settings name, and runs that with gunicorn.
func djangoPlan(files map[string][]byte, py *pyProject) (Plan, error) {
	var manages []string
	for _, name := range py.paths {
		if isDjangoManage(py.mods[name]) {
			manages = append(manages, name)
		}
	}
	if len(manages) == 0 {
		return Plan{}, undetected("no Django manage.py found; a Django project needs the manage.py that startproject writes")
	}
	sort.SliceStable(manages, func(i, j int) bool {
		return strings.Count(manages[i], "/") < strings.Count(manages[j], "/")
	})
	manage := manages[0]
	dir := path.Dir(manage)
	if dir == "." {
		dir = ""
	}
	settings, ok := stringAfter(py.mods[manage].stmts, "DJANGO_SETTINGS_MODULE")
	if !ok {
		if settings, ok = guessSettings(py, dir); !ok {
			return Plan{}, undetected("%s does not set DJANGO_SETTINGS_MODULE and no <project>/settings.py is beside it", manage)
		}
	}
	settingsFile, ok := resolveModule(py, dir, settings)
	if !ok {
		return Plan{}, undetected("settings module %q named in %s not found (no %s.py)", settings, manage,
			path.Join(dir, strings.ReplaceAll(settings, ".", "/")))
	}
	chain := settingsChain(py, dir, settingsFile)

	wsgi := ""
	for _, m := range chain {
		if v, ok := assignedString(m.stmts, "WSGI_APPLICATION"); ok {
			wsgi = v
			break
		}
	}
	if wsgi == "" {
		wsgi = firstComponent(settings) + ".wsgi.application"
	}
	entry := "django.core.wsgi:get_wsgi_application()"
	if i := strings.LastIndex(wsgi, "."); i > 0 {
		if _, ok := resolveModule(py, dir, wsgi[:i]); ok {
			entry = wsgi[:i] + ":" + wsgi[i+1:]
		}
	}
	// Without the project's wsgi.py, Django's own factory builds the same
	// application from DJANGO_SETTINGS_MODULE.

	chdir := dir
	if chdir == "" {
		chdir = "."
	}
	argv := append(gunicornArgs(), "--chdir", chdir, entry)
	env := map[string]string{"DJANGO_SETTINGS_MODULE": settings}
	if needsMigrate(files, dir, chain) {
		// A fresh sqlite database has no tables; migrating first makes the
		// admin, sessions and the app's own models work. gunicorn's
		// configuration in the runtime image (previewd_django) runs
		// manage.py migrate in gunicorn's own process before it serves:
		// Django and the app are imported once, and in a warm container
		// they are the preloaded ones.
		argv = append(gunicornArgs(), "--config", "python:previewd_django", "--chdir", chdir, entry)
		env["PREVIEWD_DJANGO_MANAGE"] = path.Join("/app", manage)
	}
	return Plan{
		Framework:  Django,
		Runtime:    RuntimePython,
		Entrypoint: entry,
		Command:    argv,
		Exec:       argv,
		Env:        env,
	}, nil
}

// guessSettings looks for <project>/settings.py (or a settings package)
// directly below dir, as startproject lays it out.
func guessSettings(py *pyProject, dir string) (string, bool) {
	for _, name := range py.paths {
		rel := name
		if dir != "" {
			var found bool
			if rel, found = strings.CutPrefix(name, dir+"/"); !found {
				continue
			}
		}
		parts := strings.Split(rel, "/")
		if len(parts) == 2 && parts[1] == "settings.py" ||
			len(parts) == 3 && parts[1] == "settings" && parts[2] == "__init__.py" {
			return parts[0] + ".settings", true
		}
	}
	return "", false
}

// resolveModule finds the file of a dotted module with dir on sys.path.
func resolveModule(py *pyProject, dir, dotted string) (string, bool) {
	base := path.Join(dir, strings.ReplaceAll(dotted, ".", "/"))
	for _, f := range []string{base + ".py", base + "/__init__.py"} {
		if py.mods[f] != nil {
			return f, true
		}
	}
	return "", false
}

// settingsChain returns the settings module followed by the modules it
// star-imports, recursively: split settings (settings/dev.py doing
// "from .base import *") keep WSGI_APPLICATION and DATABASES in base.
func settingsChain(py *pyProject, dir, file string) []*pyModule {
	var chain []*pyModule
	seen := map[string]bool{}
	var walk func(string)
	walk = func(f string) {
		if seen[f] {
			return
		}
		seen[f] = true
		m := py.mods[f]
		chain = append(chain, m)
		for _, imp := range m.imports {
			if imp.name != "*" {
				continue
			}
			if target, ok := resolveImport(py, dir, f, imp); ok {
				walk(target)
			}
		}
	}
	walk(file)
	return chain
}

// resolveImport finds the file an import names, relative imports being
// resolved against the importing file's package.
func resolveImport(py *pyProject, dir, from string, imp pyImport) (string, bool) {
	if imp.level == 0 {
		return resolveModule(py, dir, imp.module)
	}
	base := path.Dir(from)
	for i := 1; i < imp.level; i++ {
		base = path.Dir(base)
	}
	if base == "." {
		base = ""
	}
	return resolveModule(py, base, imp.module)
}

// assignedString returns the string literal assigned to a module-level name.
func assignedString(stmts []pyStmt, name string) (string, bool) {
	for _, s := range stmts {
		targets, value, ok := splitAssign(s)
		if ok && s.indent == 0 && targets[0] == name && len(value) == 1 && value[0].kind == pyString {
			return value[0].text, true
		}
	}
	return "", false
}

// needsMigrate reports whether the project uses sqlite and some installed
// app ships migrations; other databases are expected to be prepared by
// whoever provides them.
func needsMigrate(files map[string][]byte, dir string, chain []*pyModule) bool {
	sqlite := false
	var apps []string
	for _, m := range chain {
		for _, s := range m.stmts {
			isApps := s.is(0, pyName, "INSTALLED_APPS")
			for _, t := range s.toks {
				if t.kind != pyString {
					continue
				}
				if t.text == "django.db.backends.sqlite3" {
					sqlite = true
				}
				if isApps {
					apps = append(apps, t.text)
				}
			}
		}
	}
	if !sqlite {
		return false
	}
	for _, app := range apps {
		if djangoContribWithMigrations(app) {
			return true
		}
		// "blog", "blog.apps.BlogConfig": some prefix is the app package.
		parts := strings.Split(app, ".")
		for i := len(parts); i > 0; i-- {
			pkg := path.Join(dir, strings.Join(parts[:i], "/"))
			if _, ok := files[pkg+"/migrations/__init__.py"]; ok {
				return true
			}
		}
	}
	return false
}

// djangoContribWithMigrations reports whether an installed app is one of
// Django's own that creates tables.
func djangoContribWithMigrations(app string) bool {
	for _, c := range []string{"admin", "auth", "contenttypes", "sessions", "sites", "flatpages", "redirects"} {
		p := "django.contrib." + c
		if app == p || strings.HasPrefix(app, p+".") {
			return true
		}
	}
	return false
}
