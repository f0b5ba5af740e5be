package endpoints

import (
	"fmt"
	"testing"
)

func TestMergeRuntime(t *testing.T) {
	f := false
	listed := Result{Endpoints: []Endpoint{
		{Method: "GET", Path: "/items/{id}", File: "app.py", Line: 3, Source: SourceStatic,
			Params: []Param{{Name: "id", In: "path", Type: "integer", Required: true}}},
		{Method: "POST", Path: "/items", File: "app.py", Line: 7, Source: SourceStatic},
		{Method: "GET", Path: "/users", File: "users.js", Line: 2, Source: SourceStatic, Mounted: &f},
		{Method: "GET", Path: "/summary", Summary: "from the document", Source: SourceOpenAPI},
	}}
	table := []Route{
		{Method: "GET", Path: "/items/{id}"},
		{Method: "GET", Path: "/api/v1/users"},
		{Method: "GET", Path: "/summary"},
		{Method: "DELETE", Path: "/things/{thing_id}"},
	}
	res := MergeRuntime(listed, table, DefaultLimits())
	byKey := map[string]Endpoint{}
	for _, e := range res.Endpoints {
		byKey[e.Method+" "+e.Path] = e
	}
	if len(byKey) != 5 {
		t.Fatalf("%d rows, want 5: %+v", len(byKey), res.Endpoints)
	}
	check := func(key, source string, confirmed bool, file string, line int) {
		t.Helper()
		e, ok := byKey[key]
		if !ok {
			t.Fatalf("no %s", key)
		}
		if e.Source != source || (e.Confirmed == nil) != confirmed || e.File != file || e.Line != line {
			t.Errorf("%s: source %q confirmed %v file %q line %d, want %q %v %q %d", key, e.Source, e.Confirmed, e.File, e.Line, source, confirmed, file, line)
		}
	}
	check("GET /items/{id}", SourceRuntime, true, "app.py", 3)
	check("POST /items", SourceStatic, false, "app.py", 7)
	check("GET /api/v1/users", SourceRuntime, true, "users.js", 2)
	check("GET /summary", SourceRuntime, true, "", 0)
	check("DELETE /things/{thing_id}", SourceRuntime, true, "", 0)
	if p := byKey["GET /items/{id}"].Params; len(p) != 1 || p[0].Type != "integer" {
		t.Errorf("the static row's params are lost: %+v", p)
	}
	if byKey["GET /api/v1/users"].Mounted != nil {
		t.Errorf("a mounted runtime row still says mounted: false")
	}
	if byKey["GET /summary"].Summary != "from the document" {
		t.Errorf("the document's summary is lost")
	}
	if p := byKey["DELETE /things/{thing_id}"].Params; fmt.Sprint(p) != fmt.Sprint([]Param{{Name: "thing_id", In: "path", Type: "string", Required: true}}) {
		t.Errorf("params of a runtime-only row: %+v", p)
	}
	// The listed result is not changed: it is the cache's.
	if listed.Endpoints[0].Source != SourceStatic || listed.Endpoints[1].Confirmed != nil {
		t.Errorf("MergeRuntime changed its input: %+v", listed.Endpoints)
	}
}

func TestMergeRuntimeAmbiguousUnmounted(t *testing.T) {
	f := false
	listed := Result{Endpoints: []Endpoint{
		{Method: "GET", Path: "/list", File: "a.js", Source: SourceStatic, Mounted: &f},
		{Method: "GET", Path: "/list", File: "b.js", Source: SourceStatic, Mounted: &f},
	}}
	res := MergeRuntime(listed, []Route{{Method: "GET", Path: "/a/list"}}, DefaultLimits())
	for _, e := range res.Endpoints {
		if e.Path == "/a/list" && e.File != "" {
			t.Errorf("an ambiguous unmounted row was taken as the route: %+v", e)
		}
	}
}

func TestMergeRuntimeLimit(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxRoutes = 2
	res := MergeRuntime(Result{}, []Route{{"GET", "/a"}, {"GET", "/b"}, {"GET", "/c"}}, lim)
	if len(res.Endpoints) != 2 || !res.Truncated || len(res.Reasons) != 1 {
		t.Fatalf("%+v", res)
	}
}
