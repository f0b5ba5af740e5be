package framework

import (
	"errors"
	"reflect"
	"testing"
)

// TestDetectShapes covers source shapes too small to deserve a testdata
// directory; each row is a whole generation.
func TestDetectShapes(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		entry string   // "" when Detect must fail with ErrUndetected
		cmd   []string // checked when set
	}{
		{
			name:  "annotated assignment",
			files: files("api.py", "from fastapi import FastAPI\napp: FastAPI = FastAPI()\n"),
			entry: "api:app",
		},
		{
			name:  "chained assignment names the first target",
			files: files("api.py", "from fastapi import FastAPI\napp = application = FastAPI()\n"),
			entry: "api:app",
		},
		{
			name:  "app only under __main__ is not module level",
			files: files("main.py", "from fastapi import FastAPI\nif __name__ == '__main__':\n    app = FastAPI()\n"),
		},
		{
			name:  "attribute of another object is not the class",
			files: files("main.py", "import fastapi\nfrom x import thing\napp = thing.FastAPI()\n"),
		},
		{
			name:  "class named in a string only",
			files: files("main.py", "import fastapi\nDOC = 'app = FastAPI()'\n"),
		},
		{
			name:  "byte order mark before the first import",
			files: files("main.py", "\ufefffrom fastapi import FastAPI\r\napp = FastAPI()\r\n", "requirements.txt", "\ufefffastapi\n"),
			entry: "main:app",
		},
		{
			name:  "one-line factory",
			files: files("factory.py", "from fastapi import FastAPI\ndef build(): return FastAPI()\n"),
			entry: "factory:build()",
			cmd:   uvicorn("--factory", "factory:build"),
		},
		{
			name: "conventional file wins over an arbitrary one",
			files: files(
				"zzz/other.py", "from fastapi import FastAPI\nother = FastAPI()\n",
				"src/main.py", "from fastapi import FastAPI\napp = FastAPI()\n",
			),
			entry: "src.main:app",
		},
		{
			name: "conventional variable name wins within a file",
			files: files("main.py", "from fastapi import FastAPI\n"+
				"admin = FastAPI()\napp = FastAPI()\napp.mount('/admin', admin)\n"),
			entry: "main:app",
		},
		{
			name:  "directory that is not an identifier becomes the root",
			files: files("my-api/main.py", "from fastapi import FastAPI\napp = FastAPI()\n"),
			entry: "main:app",
			cmd:   sh("cd my-api && exec python3 -m uvicorn --host 0.0.0.0 --port 8000 main:app"),
		},
		{
			name:  "directory with a space is quoted for sh",
			files: files("my api/main.py", "from fastapi import FastAPI\napp = FastAPI()\n"),
			entry: "main:app",
			cmd:   sh("cd 'my api' && exec python3 -m uvicorn --host 0.0.0.0 --port 8000 main:app"),
		},
		{
			name: "files under tests and venv are ignored",
			files: files(
				"tests/conftest.py", "from fastapi import FastAPI\napp = FastAPI()\n",
				".venv/lib/site-packages/x.py", "from fastapi import FastAPI\napp = FastAPI()\n",
				"test_app.py", "from fastapi import FastAPI\napp = FastAPI()\n",
			),
		},
		{
			name:  "flask factory with an unusual name",
			files: files("web.py", "from flask import Flask\ndef build_site(debug=False):\n    site = Flask(__name__)\n    return site\n"),
			entry: "web:build_site()",
			cmd:   gunicorn("web:build_site()"),
		},
		{
			name: "requirements.txt breaks a fastapi/flask tie",
			files: files(
				"requirements.txt", "flask\n",
				"app.py", "from flask import Flask\nfrom fastapi.encoders import jsonable_encoder\napp = Flask(__name__)\n",
			),
			entry: "app:app",
			cmd:   gunicorn("app:app"),
		},
		{
			name: "flask-script manage.py is not django",
			files: files(
				"manage.py", "from flask_script import Manager\nfrom app import app\nmanager = Manager(app)\n",
				"app.py", "from flask import Flask\napp = Flask(__name__)\n",
			),
			entry: "app:app",
		},
		{
			name:  "express start script with a required preload",
			files: files("package.json", `{"scripts":{"start":"node -r dotenv/config ./index"},"dependencies":{"express":"4"}}`, "index.js", "require('express')().listen(process.env.PORT)"),
			entry: "index.js",
			cmd:   []string{"node", "index.js"},
		},
		{
			name:  "express start script naming a missing file falls back",
			files: files("package.json", `{"scripts":{"start":"node dist/main.js"},"dependencies":{"express":"4"}}`, "server.js", "require('express')().listen(process.env.PORT)"),
			entry: "server.js",
		},
		{
			name:  "loopback host gets the shim even with PORT from the environment",
			files: files("server.js", "const app = require('./app');\napp.listen(process.env.PORT || 3000, 'localhost');\n", "app.js", "module.exports = require('express')();\n"),
			entry: "server.js",
			cmd:   []string{"node", "-e", portShim, "server.js"},
		},
		{
			name: "PORT read in a required config module",
			files: files("server.js", "const cfg = require('./config');\nrequire('express')().listen(cfg.port);\n",
				"config.js", "module.exports = { port: process.env.PORT || 3000 };\n",
				"client/vite.config.js", "export default {}\n"),
			entry: "server.js",
			cmd:   []string{"node", "server.js"},
		},
		{
			name: "PORT read only by unrelated frontend code does not count",
			files: files("server.js", "require('express')().listen(3000);\n",
				"client/vite.config.js", "export default { server: { port: process.env.PORT } }\n"),
			entry: "server.js",
			cmd:   []string{"node", "-e", portShim, "server.js"},
		},
		{
			name:  "commented-out express does not count",
			files: files("index.js", "// const express = require('express')\nrequire('http').createServer().listen(3000)\n"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Detect(tc.files, Auto)
			if tc.entry == "" {
				if !errors.Is(err, ErrUndetected) {
					t.Fatalf("Detect = %+v, %v; want ErrUndetected", plan, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if plan.Entrypoint != tc.entry {
				t.Errorf("Entrypoint = %q, want %q", plan.Entrypoint, tc.entry)
			}
			if tc.cmd != nil && !reflect.DeepEqual(plan.Command, tc.cmd) {
				t.Errorf("Command = %q, want %q", plan.Command, tc.cmd)
			}
		})
	}
}

func TestStartScriptFile(t *testing.T) {
	tests := []struct {
		script, want string
	}{
		{"node server.js", "server.js"},
		{"NODE_ENV=production node ./src/index.js", "./src/index.js"},
		{"cross-env NODE_ENV=production node app.js", "app.js"},
		{"npm run build && node dist/server.js", "dist/server.js"},
		{"node --max-old-space-size=200 -r dotenv/config index.js", "index.js"},
		{"nodemon server.js", "server.js"},
		{"react-scripts start", ""},
		{"ts-node src/index.ts", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := startScriptFile(tc.script)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("startScriptFile(%q) = %q, %v; want %q", tc.script, got, ok, tc.want)
		}
	}
}

func TestStripJSComments(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a // c\nb", "a \nb"},
		{"a /* c\n c */ b", "a   b"},
		{`s = "// not a comment"; t = 'x' // gone`, `s = "// not a comment"; t = 'x' `},
		{"u = `http://x/${a}` // gone", "u = `http://x/${a}` "},
		{"a /* open", "a "},
	}
	for _, tc := range tests {
		if got := stripJSComments(tc.in); got != tc.want {
			t.Errorf("stripJSComments(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"backend":          "backend",
		"app:create_app()": "'app:create_app()'",
		"it's":             `'it'\''s'`,
		"":                 "''",
		"-":                "-",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDetect feeds arbitrary text to every reader as every kind of file:
// generated code is often broken, and detection must fail, not panic.
func FuzzDetect(f *testing.F) {
	f.Add("app/main.py", "from fastapi import FastAPI\napp = FastAPI(\n")
	f.Add("manage.py", "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'x.settings')\nfrom . import *")
	f.Add("server.js", "require('express')().listen(/*")
	f.Add("requirements.txt", "-r requirements.txt\nflask[; python_version <")
	f.Fuzz(func(t *testing.T, name, src string) {
		fs := files(name, src, "x.py", src, "manage.py", src, "x/settings.py", src,
			"index.js", src, "package.json", src, "requirements.txt", src)
		for _, want := range append(Names(), Auto) {
			plan, err := Detect(fs, want)
			if err == nil && len(plan.Command) == 0 {
				t.Fatalf("Detect(%s) returned an empty command", want)
			}
			_, _ = Requirements(plan, fs)
		}
	})
}
