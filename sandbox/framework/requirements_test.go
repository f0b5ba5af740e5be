package framework

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func files(kv ...string) map[string][]byte {
	m := map[string][]byte{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

func TestRequirementsPython(t *testing.T) {
	pyPlan := Plan{Framework: FastAPI, Runtime: RuntimePython}
	tests := []struct {
		name  string
		files map[string][]byte
		want  []Requirement
		err   string // part of the error, "" for none
	}{
		{
			name: "pip syntax",
			files: files("requirements.txt", `# pinned by the generator
fastapi==0.110.0
uvicorn[standard] >= 0.29 , <1   # server
Flask_SQLAlchemy~=3.1
python-multipart
pydantic (>=2)
requests==2.31.0 --hash=sha256:abc
pywin32==306 ; sys_platform == "win32"
importlib-metadata; python_version < "3.8"
tomli>=1.1 ; python_version < "3.11" or platform_system == "Linux"
mypkg @ https://example.com/mypkg-1.0.tar.gz
-i https://pypi.example/simple
--extra-index-url https://other.example/simple
-e .
./vendor/local.whl
https://example.com/pkg.tar.gz#egg=pkg
celery[redis,msgpack]==5.3.* \
    --hash=sha256:def
`),
			want: []Requirement{
				{"fastapi", "==0.110.0"},
				{"uvicorn", ">=0.29,<1"},
				{"flask-sqlalchemy", "~=3.1"},
				{"python-multipart", ""},
				{"pydantic", ">=2"},
				{"requests", "==2.31.0"},
				{"tomli", ">=1.1"},
				{"mypkg", "@ https://example.com/mypkg-1.0.tar.gz"},
				{"celery", "==5.3.*"},
			},
		},
		{
			name: "includes within files",
			files: files(
				"requirements.txt", "-r requirements/base.txt\n--requirement=requirements/extra.txt\nFlask\n",
				"requirements/base.txt", "-rcommon.txt\ngunicorn==21.2\n",
				"requirements/common.txt", "click>=8\nflask==3.0 # repeated later\n",
				"requirements/extra.txt", "Zope.Interface\n",
			),
			want: []Requirement{{"click", ">=8"}, {"flask", "==3.0"}, {"gunicorn", "==21.2"}, {"zope-interface", ""}},
		},
		{
			name:  "nested requirements.txt when the root has none",
			files: files("backend/requirements.txt", "fastapi\n", "tools/deep/requirements.txt", "black\n"),
			want:  []Requirement{{"fastapi", ""}},
		},
		{name: "byte order mark and CRLF", files: files("requirements.txt", "\ufeffFlask\r\ngunicorn\r\n"), want: []Requirement{{"flask", ""}, {"gunicorn", ""}}},
		{name: "no manifest", files: files("main.py", "print(1)\n"), want: nil},
		{name: "missing include", files: files("requirements.txt", "-r nope.txt\n"), err: "requirements.txt line 1: included file not in the generation"},
		{name: "include cycle", files: files("requirements.txt", "-r a.txt\n", "a.txt", "-r requirements.txt\n"), err: "requirements.txt includes itself"},
		{name: "spec without operator", files: files("requirements.txt", "fastapi\nflask 2.0\n"), err: `requirements.txt line 2: bad version spec: "flask 2.0"`},
		{name: "single equals", files: files("requirements.txt", "flask=2.0\n"), err: "bad version spec"},
		{name: "not a name", files: files("requirements.txt", "!!!\n"), err: "not a package name"},
		{name: "bad marker", files: files("requirements.txt", "x; os_name === \n"), err: "bad environment marker"},
		{name: "unknown marker variable", files: files("requirements.txt", "x; python_verzion > '3'\n"), err: "unknown marker variable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Requirements(pyPlan, tc.files)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalidManifest) {
					t.Fatalf("Requirements error = %v, want one containing %q and wrapping ErrInvalidManifest", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Requirements: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Requirements =\n  %v\nwant\n  %v", got, tc.want)
			}
		})
	}
}

func TestRequirementsNode(t *testing.T) {
	pkg := `{"dependencies": {"express": "^4.18.0", "cors": "2.8.5", "@prisma/client": "5.0.0"},
	         "devDependencies": {"nodemon": "^3"}}`
	tests := []struct {
		name  string
		plan  Plan
		files map[string][]byte
		want  []Requirement
		err   bool
	}{
		{
			name:  "dependencies only, sorted",
			plan:  Plan{Framework: Express, Runtime: RuntimeNode, Entrypoint: "server.js"},
			files: files("package.json", pkg),
			want:  []Requirement{{"@prisma/client", "5.0.0"}, {"cors", "2.8.5"}, {"express", "^4.18.0"}},
		},
		{
			name:  "nearest package.json to the entrypoint",
			plan:  Plan{Framework: Express, Entrypoint: "server/src/index.js"},
			files: files("package.json", `{"dependencies": {"react": "18"}}`, "server/package.json", `{"dependencies": {"express": "4"}}`),
			want:  []Requirement{{"express", "4"}},
		},
		{name: "no package.json", plan: Plan{Framework: Express, Entrypoint: "server.js"}, files: files("server.js", ""), want: nil},
		{name: "bad json", plan: Plan{Runtime: RuntimeNode, Entrypoint: "a.js"}, files: files("package.json", "{"), err: true},
		{name: "no dependencies", plan: Plan{Runtime: RuntimeNode}, files: files("package.json", "{}"), want: []Requirement{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Requirements(tc.plan, tc.files)
			if tc.err {
				if !errors.Is(err, ErrInvalidManifest) {
					t.Fatalf("Requirements error = %v, want ErrInvalidManifest", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Requirements: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Requirements = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseInstalled(t *testing.T) {
	text := "# generated\nfastapi==0.92.0\r\n\n  uvicorn == 0.17.6  \nname-only\n@babel/core==7.20.12\n"
	want := map[string]string{"fastapi": "0.92.0", "uvicorn": "0.17.6", "name-only": "", "@babel/core": "7.20.12"}
	if got := ParseInstalled([]byte(text)); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseInstalled = %v, want %v", got, want)
	}
	if got := ParseInstalled(nil); len(got) != 0 {
		t.Errorf("ParseInstalled(nil) = %v, want empty", got)
	}
}

func TestNormalizePyName(t *testing.T) {
	for in, want := range map[string]string{
		"Flask":              "flask",
		"Flask_SQLAlchemy":   "flask-sqlalchemy",
		"zope.interface":     "zope-interface",
		"a-_.b":              "a-b",
		"typing_extensions":  "typing-extensions",
		"Django-REST.-frame": "django-rest-frame",
	} {
		if got := NormalizePyName(in); got != want {
			t.Errorf("NormalizePyName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEvalMarker(t *testing.T) {
	tests := []struct {
		marker string
		want   bool
	}{
		{`python_version < "3.8"`, false},
		{`python_version >= "3.11"`, true},
		{`python_version ~= "3.9"`, true},
		{`python_version == "3.11.*"`, true},
		{`python_full_version < '3.11.1'`, false},
		{`sys_platform == "win32"`, false},
		{`sys_platform != "win32" and platform_machine == "x86_64"`, true},
		{`(os_name == "nt" or os_name == "posix") and implementation_name == "cpython"`, true},
		{`"linux" in sys_platform`, true},
		{`"win" not in sys_platform`, true},
		{`extra == "dev"`, false},
	}
	for _, tc := range tests {
		got, err := evalMarker(tc.marker)
		if err != nil || got != tc.want {
			t.Errorf("evalMarker(%q) = %v, %v; want %v", tc.marker, got, err, tc.want)
		}
	}
	for _, bad := range []string{`python_version <`, `(os_name == "nt"`, `os_name = "nt"`, `sys_platform not "x"`, `"a" < "b"`, `os_name == "nt" junk`} {
		if _, err := evalMarker(bad); err == nil {
			t.Errorf("evalMarker(%q) succeeded, want an error", bad)
		}
	}
}
