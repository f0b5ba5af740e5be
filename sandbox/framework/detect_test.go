package framework

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// loadDir reads a directory under testdata/ into the map Detect takes.
func loadDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	root := filepath.Join("..", "..", "testdata", dir)
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = body
		return nil
	})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return files
}

func uvicorn(args ...string) []string {
	return append([]string{"python3", "-m", "uvicorn", "--host", "0.0.0.0", "--port", "8000"}, args...)
}

func gunicorn(args ...string) []string {
	return append([]string{"gunicorn", "--bind", "0.0.0.0:8000", "--workers", "1", "--threads", "4", "--access-logfile", "-"}, args...)
}

const gunicornLine = "gunicorn --bind 0.0.0.0:8000 --workers 1 --threads 4 --access-logfile -"

func sh(script string) []string { return []string{"sh", "-c", script} }

func py(fw Name, entry string, cmd []string) Plan {
	return Plan{Framework: fw, Runtime: "python", Entrypoint: entry, Command: cmd}
}

func django(entry, settings string, cmd []string) Plan {
	return Plan{Framework: Django, Runtime: "python", Entrypoint: entry, Command: cmd,
		Env: map[string]string{"DJANGO_SETTINGS_MODULE": settings}}
}

// djangoMigrating is a Django plan whose gunicorn migrates manage.py's
// project first.
func djangoMigrating(entry, settings, manage string, cmd []string) Plan {
	p := django(entry, settings, cmd)
	p.Env["PREVIEWD_DJANGO_MANAGE"] = manage
	return p
}

func node(entry string, cmd ...string) Plan {
	return Plan{Framework: Express, Runtime: "node", Entrypoint: entry, Command: cmd}
}

// detectCases are the rows of TestDetect; dir is relative to testdata/.
var detectCases = []struct {
	dir     string
	want    Name
	plan    Plan
	err     error
	message string // part of the error text, when err is set
}{
	// FastAPI
	{dir: "detect/fastapi-single", plan: py(FastAPI, "main:app", uvicorn("main:app"))},
	{dir: "detect/fastapi-package-routers", plan: py(FastAPI, "app.main:app", uvicorn("app.main:app"))},
	{dir: "detect/fastapi-backend-dir", plan: py(FastAPI, "main:app",
		sh("cd backend && exec python3 -m uvicorn --host 0.0.0.0 --port 8000 main:app"))},
	{dir: "detect/fastapi-factory", plan: py(FastAPI, "main:create_app()", uvicorn("--factory", "main:create_app"))},
	{dir: "detect/fastapi-alias-server", plan: py(FastAPI, "server:api", uvicorn("server:api"))},
	{dir: "detect/fastapi-module-attr", plan: py(FastAPI, "src.main:application", uvicorn("src.main:application"))},
	{dir: "detect/fastapi-mounted-subapp", plan: py(FastAPI, "main:app", uvicorn("main:app"))},
	{dir: "detect/fastapi-src-relative", plan: py(FastAPI, "app.main:app",
		sh("cd src && exec python3 -m uvicorn --host 0.0.0.0 --port 8000 app.main:app"))},
	{dir: "detect/fastapi-factory-var", plan: py(FastAPI, "app.main:app", uvicorn("app.main:app"))},
	{dir: "detect/fastapi-router-only", err: ErrUndetected, message: "found APIRouter in routers/items.py but no FastAPI() application"},
	{dir: "detect/fastapi-single", want: Flask, err: ErrUndetected, message: "no Flask(__name__) application or create_app() factory found"},
	{dir: "detect/fastapi-single", want: FastAPI, plan: py(FastAPI, "main:app", uvicorn("main:app"))},

	// Flask
	{dir: "detect/flask-single", plan: py(Flask, "app:app", gunicorn("app:app"))},
	{dir: "detect/flask-single", want: "Flask", plan: py(Flask, "app:app", gunicorn("app:app"))},
	{dir: "detect/flask-factory", plan: py(Flask, "app:create_app()", gunicorn("app:create_app()"))},
	{dir: "detect/flask-blueprints-run", plan: py(Flask, "run:app", gunicorn("run:app"))},
	{dir: "detect/flask-blueprints-factory", plan: py(Flask, "project:make_app()", gunicorn("project:make_app()"))},
	{dir: "detect/flask-server-dir", plan: py(Flask, "app:app", gunicorn("--chdir", "server", "app:app"))},
	{dir: "detect/flask-module-attr", plan: py(Flask, "main:application", gunicorn("main:application"))},
	{dir: "detect/flask-script-manage", plan: py(Flask, "app:create_app()", gunicorn("app:create_app()"))},
	{dir: "detect/flask-factory-needs-args", err: ErrUndetected, message: "factory create_app in app/__init__.py needs arguments"},

	// Django
	{dir: "detect/django-startproject", plan: djangoMigrating("mysite.wsgi:application", "mysite.settings", "/app/manage.py",
		gunicorn("--config", "python:previewd_django", "--chdir", ".", "mysite.wsgi:application"))},
	{dir: "detect/django-multi-app", plan: djangoMigrating("config.wsgi:application", "config.settings", "/app/backend/manage.py",
		gunicorn("--config", "python:previewd_django", "--chdir", "backend", "config.wsgi:application"))},
	{dir: "detect/django-no-database", plan: django("shop.wsgi:application", "shop.settings",
		gunicorn("--chdir", ".", "shop.wsgi:application"))},
	{dir: "detect/django-settings-package", plan: django("config.wsgi:application", "config.settings.dev",
		gunicorn("--chdir", ".", "config.wsgi:application"))},
	{dir: "detect/django-no-wsgi-setting", plan: django("blogsite.wsgi:application", "blogsite.settings",
		gunicorn("--chdir", ".", "blogsite.wsgi:application"))},
	{dir: "detect/django-no-wsgi-file", plan: django("django.core.wsgi:get_wsgi_application()", "notes.settings",
		gunicorn("--chdir", ".", "django.core.wsgi:get_wsgi_application()"))},
	{dir: "detect/flask-single", want: Django, err: ErrUndetected, message: "no Django manage.py found"},

	// Express
	{dir: "detect/express-single", plan: node("server.js", "node", "server.js")},
	{dir: "detect/express-routes-dir", plan: node("app.js", "node", "app.js")},
	{dir: "detect/express-start-script", plan: node("src/server.js", "node", "src/server.js")},
	{dir: "detect/express-hardcoded-port", plan: node("index.js", "node", "-e", portShim, "index.js")},
	{dir: "detect/express-esm-src", plan: node("src/index.js", "node", "src/index.js")},
	{dir: "detect/express-generator", plan: node("bin/www", "node", "bin/www")},
	{dir: "detect/express-index-requires-app", plan: node("index.js", "node", "index.js")},
	{dir: "detect/express-server-package", plan: node("server/index.js", "sh", "-c", "cd server && exec node index.js")},
	{dir: "detect/express-single", want: Express, plan: node("server.js", "node", "server.js")},

	// No framework, mixed evidence, bad requests
	{dir: "detect/none-readme-only", err: ErrUndetected, message: "no Django manage.py, no .py file importing fastapi or flask"},
	{dir: "detect/none-plain-python", err: ErrUndetected},
	{dir: "detect/mixed-flask-helper-express", plan: node("server.js", "node", "server.js")},
	{dir: "detect/mixed-fastapi-and-express", plan: py(FastAPI, "api.main:app", uvicorn("api.main:app"))},
	{dir: "detect/fastapi-single", want: "rails", err: ErrUnknown},

	// The samples the end-to-end tests launch
	{dir: "samples/fastapi", plan: py(FastAPI, "app.main:app", uvicorn("app.main:app"))},
	{dir: "samples/flask", plan: py(Flask, "app:create_app()", gunicorn("app:create_app()"))},
	{dir: "samples/django", plan: django("mysite.wsgi:application", "mysite.settings",
		gunicorn("--chdir", ".", "mysite.wsgi:application"))},
	{dir: "samples/checks-django", plan: django("mysite.wsgi:application", "mysite.settings",
		gunicorn("--chdir", ".", "mysite.wsgi:application"))},
	{dir: "samples/django-polls", plan: djangoMigrating("mysite.wsgi:application", "mysite.settings", "/app/manage.py",
		gunicorn("--config", "python:previewd_django", "--chdir", ".", "mysite.wsgi:application"))},
	{dir: "samples/express", plan: node("server.js", "node", "server.js")},
	{dir: "samples/crash", plan: py(FastAPI, "main:app", uvicorn("main:app"))},
	{dir: "samples/never-listens", plan: py(Flask, "app:app", gunicorn("app:app"))},
	{dir: "samples/sqlite", plan: py(Flask, "app:app", gunicorn("app:app"))},
	{dir: "samples/crash-later", plan: py(FastAPI, "main:app", uvicorn("main:app"))},
	{dir: "samples/proxy-echo", plan: node("server.js", "node", "server.js")},
	{dir: "samples/hostile-page", plan: node("server.js", "node", "server.js")},
	{dir: "samples/memory-hog", plan: py(FastAPI, "main:app", uvicorn("main:app"))},
	{dir: "samples/egress", plan: py(FastAPI, "main:app", uvicorn("main:app"))},
	{dir: "samples/printer", plan: py(FastAPI, "main:app", uvicorn("main:app"))},
	{dir: "samples/flood", plan: py(FastAPI, "main:app", uvicorn("main:app"))},
	{dir: "samples/browser-page", plan: node("server.js", "node", "server.js")},
	{dir: "samples/checks-fastapi", plan: py(FastAPI, "app.main:app", uvicorn("app.main:app"))},
	{dir: "samples/checks-flask", plan: py(Flask, "app:app", gunicorn("app:app"))},
	{dir: "samples/checks-express", plan: node("server.js", "node", "server.js")},
}

func TestDetect(t *testing.T) {
	for _, tc := range detectCases {
		name := tc.dir
		if tc.want != "" {
			name += "/want=" + string(tc.want)
		}
		t.Run(name, func(t *testing.T) {
			plan, err := Detect(loadDir(t, tc.dir), tc.want)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Detect error = %v, want %v (plan %+v)", err, tc.err, plan)
				}
				if !strings.Contains(err.Error(), tc.message) {
					t.Errorf("Detect error = %q, want it to contain %q", err, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if plan.Framework != tc.plan.Framework || plan.Runtime != tc.plan.Runtime || plan.Entrypoint != tc.plan.Entrypoint {
				t.Errorf("Detect = %s/%s/%q, want %s/%s/%q", plan.Framework, plan.Runtime, plan.Entrypoint,
					tc.plan.Framework, tc.plan.Runtime, tc.plan.Entrypoint)
			}
			if !reflect.DeepEqual(plan.Command, tc.plan.Command) {
				t.Errorf("Command =\n  %q\nwant\n  %q", plan.Command, tc.plan.Command)
			}
			if !reflect.DeepEqual(plan.Env, tc.plan.Env) {
				t.Errorf("Env = %v, want %v", plan.Env, tc.plan.Env)
			}
			// A warm container runs Exec in Dir: it must be the same command.
			if plan.Exec != nil && !reflect.DeepEqual(inDir(plan.Dir, plan.Exec), plan.Command) {
				t.Errorf("Exec %q in Dir %q is not Command %q", plan.Exec, plan.Dir, plan.Command)
			}
			if plan.Exec == nil && plan.Command[0] != "sh" {
				t.Errorf("Exec is nil though Command %q needs no shell", plan.Command)
			}
		})
	}
}

// TestDetectCasesCoverTestdata keeps every fixture directory under test.
func TestDetectCasesCoverTestdata(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range detectCases {
		covered[tc.dir] = true
	}
	for _, parent := range []string{"detect", "samples"} {
		entries, err := os.ReadDir(filepath.Join("..", "..", "testdata", parent))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() && !covered[parent+"/"+e.Name()] {
				t.Errorf("testdata/%s/%s has no row in detectCases", parent, e.Name())
			}
		}
	}
}

func TestDetectNoFiles(t *testing.T) {
	for _, files := range []map[string][]byte{nil, {}} {
		if _, err := Detect(files, Auto); !errors.Is(err, ErrUndetected) {
			t.Errorf("Detect(%v) error = %v, want ErrUndetected", files, err)
		}
	}
}

// TestSampleCommands prints what previewd runs for each sample
// (go test -run TestSampleCommands -v).
func TestSampleCommands(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "testdata", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		plan, err := Detect(loadDir(t, "samples/"+n), Auto)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		t.Logf("%-14s %-8s %-26s env=%v argv=%q", n, plan.Framework, plan.Entrypoint, plan.Env, plan.Command)
	}
}

func TestNames(t *testing.T) {
	got := Names()
	want := []Name{FastAPI, Flask, Django, Express}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	got[0] = "mutated"
	if Names()[0] != FastAPI {
		t.Error("Names() shares its slice between calls")
	}
}
