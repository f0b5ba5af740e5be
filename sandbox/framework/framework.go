// Package framework recognises which web framework a generation uses and
// says how to start it inside a runtime image: which image, which argv,
// which extra environment. It reads source text only and never runs it.
package framework

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Name is a supported framework.
type Name string

// FastAPI, Flask, Django and Express are the supported frameworks.
const (
	FastAPI Name = "fastapi"
	Flask   Name = "flask"
	Django  Name = "django"
	Express Name = "express"
)

// Auto asks Detect to find the framework itself; "" means the same.
const Auto Name = "auto"

// Names lists the supported frameworks, for /config.
func Names() []Name {
	return []Name{FastAPI, Flask, Django, Express}
}

// AppPort is the port the app listens on inside the container.
const AppPort = 8000

// RuntimePython and RuntimeNode name the runtime image a plan needs.
const (
	RuntimePython = "python"
	RuntimeNode   = "node"
)

// Plan says how to run a generation.
type Plan struct {
	Framework  Name
	Runtime    string   // "python" or "node": which runtime image
	Entrypoint string   // what was found, for people: "app.main:app", "app:create_app()", "mysite.wsgi:application", "server.js"
	Command    []string // argv run in /app
	// Dir and Exec are Command without a shell around it: Exec run in Dir,
	// relative to /app. A warm container runs them in its preloaded
	// interpreter. Exec is nil when the command needs the shell.
	Dir  string
	Exec []string
	Env  map[string]string // extra env, e.g. DJANGO_SETTINGS_MODULE; may be nil
}

// ErrUndetected is returned, wrapped with a reason a person can act on,
// when auto-detection or entrypoint discovery fails.
var ErrUndetected = errors.New("framework not detected")

// ErrUnknown is returned for a requested framework that is not supported.
var ErrUnknown = errors.New("unknown framework")

// Detect finds the framework (want "" or "auto" means detect; otherwise want
// is used but the entrypoint is still looked for) and how to start the app.
// files maps relative, '/'-separated, already validated paths to contents.
func Detect(files map[string][]byte, want Name) (Plan, error) {
	files = relativeOnly(files)
	switch Name(strings.ToLower(strings.TrimSpace(string(want)))) {
	case "", Auto:
		return detectAuto(files)
	case FastAPI:
		return fastAPIPlan(newPyProject(files))
	case Flask:
		return flaskPlan(newPyProject(files))
	case Django:
		return djangoPlan(files, newPyProject(files))
	case Express:
		return expressPlan(files)
	}
	return Plan{}, fmt.Errorf("framework %q is not one of fastapi, flask, django, express: %w", want, ErrUnknown)
}

// relativeOnly drops paths that are not clean and relative. Callers
// validate paths already; this keeps a mistake there from sending the
// directory walks here round "/" forever.
func relativeOnly(files map[string][]byte) map[string][]byte {
	for name := range files {
		if !isCleanRelative(name) {
			out := make(map[string][]byte, len(files))
			for n, b := range files {
				if isCleanRelative(n) {
					out[n] = b
				}
			}
			return out
		}
	}
	return files
}

func isCleanRelative(name string) bool {
	return name != "" && !strings.HasPrefix(name, "/") && path.Clean(name) == name &&
		name != ".." && !strings.HasPrefix(name, "../")
}

// undetected wraps ErrUndetected with a reason.
func undetected(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrUndetected)...)
}

// detectAuto tries each framework that the files give evidence of, strongest
// evidence first, and returns the first whose entrypoint is found. Python
// evidence is tried before JavaScript: a Python backend beside a frontend
// with a package.json is the common mixed case. When a framework has
// evidence but no entrypoint (a helper script importing flask, a half
// written Django project) the next one is tried, so a generation with both
// Python and JavaScript evidence runs with whichever has an entrypoint.
func detectAuto(files map[string][]byte) (Plan, error) {
	if len(files) == 0 {
		return Plan{}, undetected("the generation has no files")
	}
	py := newPyProject(files)
	declared := map[string]bool{}
	if reqs, err := pythonRequirements(files); err == nil {
		for _, r := range reqs {
			declared[r.Name] = true
		}
	}
	var order []Name
	if hasDjangoManage(py) || py.importsPkg("django") {
		order = append(order, Django)
	}
	fast, flask := py.importsPkg("fastapi"), py.importsPkg("flask")
	// A FastAPI app may mount a Flask app (WSGIMiddleware), never the
	// reverse, so FastAPI goes first unless requirements.txt says Flask only.
	if flask && declared["flask"] && !declared["fastapi"] {
		order = append(order, Flask)
		flask = false
	}
	if fast {
		order = append(order, FastAPI)
	}
	if flask {
		order = append(order, Flask)
	}
	if expressEvidence(files) {
		order = append(order, Express)
	}
	if len(order) == 0 {
		return Plan{}, undetected("no Django manage.py, no .py file importing fastapi or flask, " +
			"and no package.json or .js file using express")
	}
	var first error
	for _, name := range order {
		var plan Plan
		var err error
		switch name {
		case Django:
			plan, err = djangoPlan(files, py)
		case FastAPI:
			plan, err = fastAPIPlan(py)
		case Flask:
			plan, err = flaskPlan(py)
		case Express:
			plan, err = expressPlan(files)
		}
		if err == nil {
			return plan, nil
		}
		if first == nil {
			first = err
		}
	}
	return Plan{}, first
}

// Commands of the Python servers, before the application argument.
func uvicornArgs() []string {
	return []string{"python3", "-m", "uvicorn", "--host", "0.0.0.0", "--port", strconv.Itoa(AppPort)}
}

func gunicornArgs() []string {
	// One worker keeps memory inside a preview's cap; threads keep a slow
	// request from blocking the rest.
	return []string{"gunicorn", "--bind", "0.0.0.0:" + strconv.Itoa(AppPort),
		"--workers", "1", "--threads", "4", "--access-logfile", "-"}
}

// fastAPIPlan finds a FastAPI application and runs it with uvicorn.
func fastAPIPlan(py *pyProject) (Plan, error) {
	res := py.findApps("fastapi", "FastAPI", "APIRouter")
	t, ok := py.locate(res.apps)
	if !ok {
		return Plan{}, appNotFound(res, "FastAPI", "FastAPI() application", "APIRouter", "app.include_router(...)")
	}
	argv := uvicornArgs()
	if t.app.factory {
		argv = append(argv, "--factory")
	}
	argv = append(argv, t.module+":"+t.app.attr)
	return Plan{
		Framework:  FastAPI,
		Runtime:    RuntimePython,
		Entrypoint: t.entrypoint(),
		Command:    inDir(t.root, argv),
		Dir:        t.root,
		Exec:       argv,
	}, nil
}

// flaskPlan finds a Flask application or factory and runs it with gunicorn,
// which calls a factory itself when given "module:create_app()".
func flaskPlan(py *pyProject) (Plan, error) {
	res := py.findApps("flask", "Flask", "Blueprint")
	t, ok := py.locate(res.apps)
	if !ok {
		return Plan{}, appNotFound(res, "Flask", "Flask(__name__) application or create_app() factory", "Blueprint", "app.register_blueprint(...)")
	}
	argv := gunicornArgs()
	if t.root != "" {
		// gunicorn's --chdir also puts the directory on sys.path.
		argv = append(argv, "--chdir", t.root)
	}
	argv = append(argv, t.entrypoint())
	return Plan{
		Framework:  Flask,
		Runtime:    RuntimePython,
		Entrypoint: t.entrypoint(),
		Command:    argv,
		Exec:       argv,
	}, nil
}

// appNotFound explains why no application was found, naming what was found
// instead when that helps.
func appNotFound(res pyAppSearch, fw, what, sub, wire string) error {
	switch {
	case len(res.needsArgs) > 0:
		return undetected("no %s application at module level, and factory %s needs arguments; "+
			"give its parameters defaults or add `app = create_app(...)` to a module", fw, strings.Join(res.needsArgs, ", "))
	case len(res.routers) > 0:
		return undetected("found %s in %s but no %s; create the application and add the %s with %s",
			sub, strings.Join(res.routers, ", "), what, sub, wire)
	}
	return undetected("no %s found in any .py file", what)
}

// inDir runs argv from dir: uvicorn has no --chdir, and code written to run
// from backend/ also opens files relative to it (StaticFiles("static")).
func inDir(dir string, argv []string) []string {
	if dir == "" || dir == "." {
		return argv
	}
	return []string{"sh", "-c", "cd " + shellQuote(dir) + " && exec " + shellJoin(argv)}
}

// shellJoin quotes argv for sh -c.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote leaves plain words alone, so commands stay readable in logs,
// and single-quotes the rest.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
