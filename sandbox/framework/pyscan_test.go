package framework

import (
	"reflect"
	"strings"
	"testing"
)

// render shows statements compactly: "indent:line tok tok ...", strings quoted.
func render(stmts []pyStmt) []string {
	var out []string
	for _, s := range stmts {
		var b strings.Builder
		b.WriteString(strings.Repeat(">", s.indent/4))
		for i, t := range s.toks {
			if i > 0 {
				b.WriteByte(' ')
			}
			if t.kind == pyString {
				b.WriteString(`"` + t.text + `"`)
			} else {
				b.WriteString(t.text)
			}
		}
		out = append(out, b.String())
	}
	return out
}

func TestScanPython(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"assignment", "app = FastAPI()\n", []string{`app = FastAPI ( )`}},
		{"docstring hides code", "\"\"\"Use it:\n\napp = FastAPI()\n\"\"\"\nx = 1\n",
			[]string{"\"Use it:\n\napp = FastAPI()\n\"", `x = 1`}},
		{"comment hides code", "# app = FastAPI()\ny = 2  # app = Flask()\n", []string{`y = 2`}},
		{"brackets join lines", "app = FastAPI(\n    title='x',\n)\nz = 3\n",
			[]string{`app = FastAPI ( title = "x" , )`, `z = 3`}},
		{"backslash joins lines", "app = \\\n    Flask(__name__)\n", []string{`app = Flask ( __name__ )`}},
		{"semicolons split", "import os; app = Flask(__name__)\n",
			[]string{`import os`, `app = Flask ( __name__ )`}},
		{"indentation", "def f():\n    app = FastAPI()\n    return app\n\tx = 1\n",
			[]string{`def f ( ) :`, `>app = FastAPI ( )`, `>return app`, `>>x = 1`}},
		{"string prefixes and quotes", "a = f'{x}' + rb\"\\\"\" + '''q'''\n",
			[]string{`a = "{x}" + "\"" + "q"`}},
		{"operators kept whole", "if a == b: c -> d\nx += 1\n",
			[]string{`if a == b : c -> d`, `x += 1`}},
		{"unterminated string ends at line end", "s = 'abc\napp = FastAPI()\n",
			[]string{`s = "abc"`, `app = FastAPI ( )`}},
		{"crlf", "a = 1\r\nb = 2\r\n", []string{`a = 1`, `b = 2`}},
		{"numbers", "x = 1e-5 + 0x1F + .5\n", []string{`x = 1e-5 + 0x1F + .5`}},
		{"unclosed bracket keeps going", "app = FastAPI(\n", []string{`app = FastAPI (`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(scanPython(tc.src)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scanPython(%q) =\n  %q\nwant\n  %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestScanPythonLines(t *testing.T) {
	stmts := scanPython("\"\"\"doc\nstring\"\"\"\nx = (1,\n 2)\ny = 3\n")
	var lines []int
	for _, s := range stmts {
		lines = append(lines, s.line)
	}
	if want := []int{1, 3, 5}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines = %v, want %v", lines, want)
	}
}

func TestParseImports(t *testing.T) {
	src := `import os, fastapi as fa
import a.b.c
from ..pkg.mod import (x as y,
    z)
from . import views
from m import *
def f():
    from flask import Flask
`
	want := []pyImport{
		{module: "os", alias: "os"},
		{module: "fastapi", alias: "fa"},
		{module: "a.b.c", alias: "a"},
		{level: 2, module: "pkg.mod", name: "x", alias: "y"},
		{level: 2, module: "pkg.mod", name: "z", alias: "z"},
		{level: 1, name: "views", alias: "views"},
		{module: "m", name: "*"},
		{module: "flask", name: "Flask", alias: "Flask"},
	}
	if got := parseImports(scanPython(src)); !reflect.DeepEqual(got, want) {
		t.Errorf("parseImports =\n  %+v\nwant\n  %+v", got, want)
	}
}

func TestSplitAssign(t *testing.T) {
	tests := []struct {
		src     string
		targets []string
		value   string
	}{
		{"app = FastAPI()", []string{"app"}, "FastAPI ( )"},
		{"app: FastAPI = FastAPI(title='x')", []string{"app"}, `FastAPI ( title = "x" )`},
		{"app = application = Flask(__name__)", []string{"app", "application"}, "Flask ( __name__ )"},
		{"app == FastAPI()", nil, ""},
		{"app.state = FastAPI()", nil, ""},
		{"app += 1", nil, ""},
		{"f(a=FastAPI())", nil, ""},
	}
	for _, tc := range tests {
		stmts := scanPython(tc.src)
		targets, value, ok := splitAssign(stmts[0])
		if ok != (tc.targets != nil) || !reflect.DeepEqual(targets, tc.targets) {
			t.Errorf("splitAssign(%q) targets = %v, %v; want %v", tc.src, targets, ok, tc.targets)
			continue
		}
		if ok {
			if got := render([]pyStmt{{toks: value}})[0]; got != tc.value {
				t.Errorf("splitAssign(%q) value = %q, want %q", tc.src, got, tc.value)
			}
		}
	}
}

func TestTopLevelDefs(t *testing.T) {
	src := `def create_app(config=None, *args, **kw) -> FastAPI:
    app = FastAPI()
    return app

async def needs(a, b=1):
    pass

class C:
    def method(self):
        return FastAPI()

def one(): return Flask(__name__)
`
	defs := topLevelDefs(scanPython(src))
	type row struct {
		name     string
		required bool
		returns  string
		hasCall  bool
	}
	var got []row
	for _, d := range defs {
		got = append(got, row{d.name, d.required, render([]pyStmt{{toks: d.returns}})[0],
			hasName(d.body, "FastAPI") || hasName(d.body, "Flask")})
	}
	want := []row{
		{"create_app", false, "FastAPI", true},
		{"needs", true, "", false},
		{"one", false, "", true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("topLevelDefs = %+v, want %+v", got, want)
	}
}

func TestModuleName(t *testing.T) {
	tests := []struct {
		root, file, want string
		ok               bool
	}{
		{"", "main.py", "main", true},
		{"", "app/main.py", "app.main", true},
		{"", "app/__init__.py", "app", true},
		{"backend", "backend/main.py", "main", true},
		{"", "my-app/main.py", "", false},
		{"my-app", "my-app/main.py", "main", true},
		{"", "__init__.py", "", false},
		{"", "class/main.py", "", false},
		{"src", "app/main.py", "", false},
	}
	for _, tc := range tests {
		got, ok := moduleName(tc.root, tc.file)
		if got != tc.want || ok != tc.ok {
			t.Errorf("moduleName(%q, %q) = %q, %v; want %q, %v", tc.root, tc.file, got, ok, tc.want, tc.ok)
		}
	}
}
