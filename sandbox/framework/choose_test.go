package framework

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSpecAllowsPython(t *testing.T) {
	tests := []struct {
		spec, version string
		ok            bool
	}{
		{"", "4.2.28", true},
		{"==4.2.28", "4.2.28", true},
		{"==4.2", "4.2.0", true},
		{"==4.2.*", "4.2.28", true},
		{"==4.2.*", "4.3", false},
		{"!=4.2.*", "4.2.1", false},
		{"!=4.2.1", "4.2.28", true},
		{">=5", "4.2.28", false},
		{">=5", "5.2.17", true},
		{">=5,<6", "5.2.17", true},
		{">=4.2,<5", "5.2.17", false},
		{"~=4.2", "4.9", true},
		{"~=4.2", "5.0", false},
		{"~=4.2.3", "4.2.28", true},
		{"~=4.2.3", "4.3.0", false},
		{"<2", "1.10.4", true},
		{">=2", "1.10.4", false},
		{">2.0", "2.0.post1", false},
		{">=0.100", "0.92.0", false},
		{">=0.100", "0.115.11", true},
		{"<5", "5.0rc1", false},     // no pre-release unless asked
		{">=5.0b1", "5.0rc1", true}, // asked for one
		{"==1.0", "1.0+local.1", true},
		{"===1.0-foo", "1.0-foo", true},
		{">=1.0.dev0", "1.0", true},
		{"<=2.10.6", "2.10.6", true},
		{"==2!1.0", "1.0", false},
	}
	for _, tc := range tests {
		ok, checked := SpecAllows(RuntimePython, tc.spec, tc.version)
		if !checked || ok != tc.ok {
			t.Errorf("SpecAllows(python, %q, %q) = %v (checked %v), want %v", tc.spec, tc.version, ok, checked, tc.ok)
		}
	}
	if _, checked := SpecAllows(RuntimePython, "@ https://example.com/x.tar.gz", "1.0"); checked {
		t.Error("a direct reference must not be checked")
	}
}

func TestSpecAllowsNode(t *testing.T) {
	tests := []struct {
		spec, version string
		ok            bool
	}{
		{"", "4.21.2", true},
		{"*", "5.2.1", true},
		{"x", "5.2.1", true},
		{"^4.18.2", "4.21.2", true},
		{"^4.18.2", "5.2.1", false},
		{"^5.1.0", "5.2.1", true},
		{"^5.1.0", "4.21.2", false},
		{"^0.2.3", "0.2.9", true},
		{"^0.2.3", "0.3.0", false},
		{"^0.0.3", "0.0.4", false},
		{"~4.21.0", "4.21.2", true},
		{"~4.21.0", "4.22.0", false},
		{"~4", "4.99.0", true},
		{"4.x", "4.21.2", true},
		{"4.x", "5.0.0", false},
		{"4.21.*", "4.21.2", true},
		{"4", "4.1.0", true},
		{"4.21.2", "4.21.2", true},
		{"=4.21.2", "4.21.3", false},
		{"v4.21.2", "4.21.2", true},
		{">=4 <5", "4.21.2", true},
		{">= 4 < 5", "5.0.0", false},
		{">4.21", "4.21.9", false},
		{">4.21", "4.22.0", true},
		{"<=4.21", "4.21.9", true},
		{"<5", "5.0.0-beta.1", false},
		{"1.2.3 - 2.3", "2.3.9", true},
		{"1.2.3 - 2.3", "2.4.0", false},
		{"1.2.3 - 2.3.4", "1.2.2", false},
		{"^4.0.0 || ^5.0.0", "5.2.1", true},
		{"^3 || ^4", "5.2.1", false},
		{"^5.0.0-beta.1", "5.0.0-beta.3", true},
		{"^5.0.0-beta.1", "5.1.0-beta.1", false}, // another release's pre-release
		{"^5.0.0", "5.0.0-beta.3", false},
		{">=18", "20.19.2", true},
		{">=22", "20.19.2", false},
	}
	for _, tc := range tests {
		ok, checked := SpecAllows(RuntimeNode, tc.spec, tc.version)
		if !checked || ok != tc.ok {
			t.Errorf("SpecAllows(node, %q, %q) = %v (checked %v), want %v", tc.spec, tc.version, ok, checked, tc.ok)
		}
	}
	for _, spec := range []string{"latest", "file:../lib", "git+https://github.com/a/b.git", "npm:other@1", "user/repo"} {
		if _, checked := SpecAllows(RuntimeNode, spec, "1.0.0"); checked {
			t.Errorf("%q must not be checked", spec)
		}
	}
}

func TestCheckSpec(t *testing.T) {
	tests := []struct {
		runtime, spec string
		bad           bool
	}{
		{RuntimePython, ">=5,<4", true},
		{RuntimePython, ">=4,<4", true},
		{RuntimePython, ">=4,<=4", false},
		{RuntimePython, "==3.2,>=4", true},
		{RuntimePython, "==4.2.*,>=4", false},
		{RuntimePython, ">=", true},
		{RuntimePython, "~=4", true},
		{RuntimeNode, ">=5 <4", true},
		{RuntimeNode, ">=5 <4 || ^4", false},
		{RuntimeNode, "4.21.2 >=5", true},
		{RuntimeNode, "^4.x.y", true},
		{RuntimeNode, "latest", false},
	}
	for _, tc := range tests {
		err := CheckSpec(tc.runtime, tc.spec)
		if (err != nil) != tc.bad {
			t.Errorf("CheckSpec(%s, %q) = %v, want bad %v", tc.runtime, tc.spec, err, tc.bad)
		}
	}
}

var (
	pyOffers = []ImageOffer{
		{Name: "runtime-python-trixie", Packages: map[string]string{"django": "4.2.28", "fastapi": "0.115.11", "pydantic": "2.10.6", "flask": "3.1.1", EngineKey: "3.13.5"}},
		{Name: "runtime-python", Packages: map[string]string{"django": "3.2.19", "fastapi": "0.92.0", "pydantic": "1.10.4", "flask": "2.2.2", EngineKey: "3.11.2"}},
		{Name: "runtime-python-forky", Packages: map[string]string{"django": "5.2.17", "fastapi": "0.143.3", "pydantic": "2.13.5", "flask": "3.1.3", EngineKey: "3.14.7"}},
	}
	nodeOffers = []ImageOffer{
		{Name: "runtime-node-trixie", Packages: map[string]string{"express": "4.21.2", "cors": "2.8.5", EngineKey: "20.19.2"}},
		{Name: "runtime-node", Packages: map[string]string{"express": "4.18.2", "cors": "2.8.5", EngineKey: "18.19.0"}},
		{Name: "runtime-node-forky", Packages: map[string]string{"express": "5.2.1", "cors": "2.8.6", EngineKey: "24.21.0"}},
	}
)

func TestChooseImage(t *testing.T) {
	tests := []struct {
		name     string
		runtime  string
		reqs     []Requirement
		engine   string
		index    int
		install  []Requirement
		replaced map[string]string
		conflict string // part of the VersionConflict's text
	}{
		{name: "no constraint: the default", runtime: RuntimePython, reqs: []Requirement{{"fastapi", ""}}, index: 0},
		{name: "default satisfies", runtime: RuntimePython, reqs: []Requirement{{"django", ">=4.2"}}, index: 0},
		{name: "Django 5 on forky", runtime: RuntimePython, reqs: []Requirement{{"django", ">=5"}}, index: 2},
		{name: "Django 3.2 on bookworm", runtime: RuntimePython, reqs: []Requirement{{"django", "<4"}}, index: 1},
		{name: "pydantic 1 with its FastAPI", runtime: RuntimePython, reqs: []Requirement{{"fastapi", "<0.100"}, {"pydantic", "<2"}}, index: 1},
		{name: "missing package installed", runtime: RuntimePython, reqs: []Requirement{{"flask", ">=3"}, {"celery", ""}},
			index: 0, install: []Requirement{{"celery", ""}}},
		{name: "no image satisfies: the fewest misses, pinned installed", runtime: RuntimePython,
			reqs:  []Requirement{{"fastapi", "==0.110.0"}, {"django", ">=5"}},
			index: 2, install: []Requirement{{"fastapi", "==0.110.0"}}, replaced: map[string]string{"fastapi": "0.143.3"}},
		{name: "tie: the default", runtime: RuntimePython, reqs: []Requirement{{"fastapi", "==0.104.1"}},
			index: 0, install: []Requirement{{"fastapi", "==0.104.1"}}, replaced: map[string]string{"fastapi": "0.115.11"}},
		{name: "requires-python picks the image", runtime: RuntimePython, reqs: []Requirement{{"flask", ""}}, engine: ">=3.14", index: 2},
		{name: "requires-python no image meets", runtime: RuntimePython, engine: ">=3.20", conflict: "runtime-python-trixie (3.13.5), runtime-python (3.11.2), runtime-python-forky (3.14.7)"},
		{name: "conflicting pins", runtime: RuntimePython, reqs: []Requirement{{"django", ">=5,<4"}}, conflict: "django >=5,<4: no version can satisfy it"},
		{name: "express 5", runtime: RuntimeNode, reqs: []Requirement{{"express", "^5.1.0"}}, index: 2},
		{name: "express 4", runtime: RuntimeNode, reqs: []Requirement{{"express", "^4.17.1"}}, index: 0},
		{name: "express 4 or 5", runtime: RuntimeNode, reqs: []Requirement{{"express", "^4 || ^5"}}, index: 0},
		{name: "express exact old pin", runtime: RuntimeNode, reqs: []Requirement{{"express", "4.18.2"}}, index: 1},
		{name: "engines.node picks forky", runtime: RuntimeNode, reqs: []Requirement{{"express", "*"}}, engine: ">=22", index: 2},
		{name: "engines.node and an express 4 pin", runtime: RuntimeNode, reqs: []Requirement{{"express", "^4.21.0"}}, engine: ">=22",
			index: 2, install: []Requirement{{"express", "^4.21.0"}}, replaced: map[string]string{"express": "5.2.1"}},
		{name: "dist-tag unchecked", runtime: RuntimeNode, reqs: []Requirement{{"express", "latest"}}, index: 0},
		{name: "bad range", runtime: RuntimeNode, reqs: []Requirement{{"express", ">=6 <5"}}, conflict: "express >=6 <5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			offers := pyOffers
			if tc.runtime == RuntimeNode {
				offers = nodeOffers
			}
			ch, err := ChooseImage(tc.runtime, offers, tc.reqs, tc.engine)
			if tc.conflict != "" {
				var vc *VersionConflict
				if !errors.As(err, &vc) || !strings.Contains(err.Error(), tc.conflict) {
					t.Fatalf("ChooseImage error = %v, want a VersionConflict containing %q", err, tc.conflict)
				}
				return
			}
			if err != nil {
				t.Fatalf("ChooseImage: %v", err)
			}
			if ch.Index != tc.index {
				t.Errorf("chose %s, want %s", offers[ch.Index].Name, offers[tc.index].Name)
			}
			if !reflect.DeepEqual(ch.Install, tc.install) {
				t.Errorf("install %v, want %v", ch.Install, tc.install)
			}
			if tc.replaced == nil {
				tc.replaced = map[string]string{}
			}
			if !reflect.DeepEqual(ch.Replaced, tc.replaced) {
				t.Errorf("replaced %v, want %v", ch.Replaced, tc.replaced)
			}
		})
	}
}

func TestPyprojectRequirements(t *testing.T) {
	plan := Plan{Framework: FastAPI, Runtime: RuntimePython}
	pep621 := `[project]
name = "app"
requires-python = ">= 3.12"
dependencies = ["fastapi>=0.115", "pydantic>=2,<3", "uvicorn[standard]", "pywin32; sys_platform == 'win32'"]
`
	poetry := `[tool.poetry.dependencies]
python = "^3.11"
django = "^5.0"
djangorestframework = {version = "~3.15", extras = ["x"]}
mylib = {path = "../mylib"}
gunicorn = "*"
whitenoise = "6.6.0"
`
	tests := []struct {
		name   string
		files  map[string][]byte
		want   []Requirement
		engine string
	}{
		{"PEP 621", files("pyproject.toml", pep621), []Requirement{{"fastapi", ">=0.115"}, {"pydantic", ">=2,<3"}, {"uvicorn", ""}}, ">=3.12"},
		{"Poetry", files("pyproject.toml", poetry), []Requirement{{"django", ">=5.0,<6"}, {"djangorestframework", ">=3.15,<3.16"}, {"gunicorn", ""}, {"whitenoise", "==6.6.0"}}, ">=3.11,<4"},
		{"requirements.txt first", files("requirements.txt", "fastapi==0.110.0\n", "pyproject.toml", pep621),
			[]Requirement{{"fastapi", "==0.110.0"}, {"pydantic", ">=2,<3"}, {"uvicorn", ""}}, ">=3.12"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Requirements(plan, tc.files)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Requirements = %v, want %v", got, tc.want)
			}
			if e := EngineSpec(plan, tc.files); e != tc.engine {
				t.Errorf("EngineSpec = %q, want %q", e, tc.engine)
			}
		})
	}
	if _, err := Requirements(plan, files("pyproject.toml", "[project\n")); !errors.Is(err, ErrInvalidManifest) {
		t.Errorf("bad TOML: %v, want ErrInvalidManifest", err)
	}
	node := Plan{Framework: Express, Runtime: RuntimeNode, Entrypoint: "server.js"}
	if e := EngineSpec(node, files("package.json", `{"engines": {"node": ">=20 <23"}}`)); e != ">=20 <23" {
		t.Errorf("engines.node = %q", e)
	}
}

func TestChooseImageUnknownEngine(t *testing.T) {
	// An image whose interpreter version is not listed is not ruled out by
	// an engine constraint: previewd cannot tell, and tries it.
	offers := []ImageOffer{{Name: "old", Packages: map[string]string{"express": "4.18.2"}}}
	ch, err := ChooseImage(RuntimeNode, offers, nil, ">=22")
	if err != nil || ch.Index != 0 {
		t.Fatalf("ChooseImage = %+v, %v; want the image of unknown engine", ch, err)
	}
}

func TestChooseImageFewestInstalls(t *testing.T) {
	// No image has Django 4.2.3; the default carries pytz at another
	// version, the other none: both need three installs, and the default
	// stays (counting misses alone would pick the one that lacks pytz).
	offers := []ImageOffer{
		{Name: "default", Packages: map[string]string{"django": "4.2.28", "pytz": "2024.1"}},
		{Name: "newer", Packages: map[string]string{"django": "5.2.17"}},
	}
	reqs := []Requirement{{"django", "==4.2.3"}, {"pytz", "==2023.3"}, {"sqlparse", "==0.4.4"}}
	ch, err := ChooseImage(RuntimePython, offers, reqs, "")
	if err != nil || ch.Index != 0 || len(ch.Install) != 3 {
		t.Fatalf("ChooseImage = %+v, %v; want the default installing all three", ch, err)
	}
}
