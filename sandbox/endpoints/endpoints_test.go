package endpoints

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// extract runs Extract on files given as text.
func extract(t *testing.T, fw framework.Name, files map[string]string) []Endpoint {
	t.Helper()
	m := make(map[string][]byte, len(files))
	for name, body := range files {
		m[name] = []byte(strings.TrimLeft(body, "\n"))
	}
	return extractBytes(t, fw, m)
}

// extractBytes runs Extract with the default limits, which no test app
// reaches.
func extractBytes(t testing.TB, fw framework.Name, files map[string][]byte) []Endpoint {
	t.Helper()
	res, err := Extract(context.Background(), fw, files, DefaultLimits())
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if res.Truncated {
		t.Fatalf("Extract truncated: %q", res.Reasons)
	}
	return res.Endpoints
}

// rows renders endpoints as "METHOD path file:line", the shape the tests
// compare, in Extract's order.
func rows(eps []Endpoint) []string {
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = fmt.Sprintf("%s %s %s:%d", e.Method, e.Path, e.File, e.Line)
	}
	return out
}

func wantRows(t *testing.T, eps []Endpoint, want ...string) {
	t.Helper()
	if got := rows(eps); !reflect.DeepEqual(got, want) {
		t.Errorf("endpoints:\n got %q\nwant %q", got, want)
	}
}

// endpoint finds one endpoint or fails.
func endpoint(t *testing.T, eps []Endpoint, method, path string) Endpoint {
	t.Helper()
	for _, e := range eps {
		if e.Method == method && e.Path == path {
			return e
		}
	}
	t.Fatalf("no %s %s in %q", method, path, rows(eps))
	return Endpoint{}
}

func wantParams(t *testing.T, e Endpoint, want ...Param) {
	t.Helper()
	if want == nil {
		want = []Param{}
	}
	if !reflect.DeepEqual(e.Params, want) {
		t.Errorf("%s %s params:\n got %+v\nwant %+v", e.Method, e.Path, e.Params, want)
	}
}

func TestExtractUnknownFramework(t *testing.T) {
	_, err := Extract(context.Background(), "rails", map[string][]byte{"app.rb": []byte("get '/'")}, Limits{})
	if !errors.Is(err, framework.ErrUnknown) {
		t.Fatalf("err = %v, want ErrUnknown", err)
	}
}

func TestExtractEmptyGeneration(t *testing.T) {
	for _, fw := range framework.Names() {
		res, err := Extract(context.Background(), fw, nil, Limits{})
		if eps := res.Endpoints; err != nil || eps == nil || len(eps) != 0 || res.Truncated {
			t.Errorf("%s: Extract(nil) = %v, %v; want an empty, non-nil list", fw, eps, err)
		}
	}
}

func TestFinishSortsAndMergesDuplicates(t *testing.T) {
	got := finish([]Endpoint{
		{Method: "DELETE", Path: "/b", File: "x.py", Line: 9},
		{Method: "GET", Path: "/b", File: "x.py", Line: 1, Tags: []string{"a"}},
		{Method: "ALL", Path: "/a"},
		{Method: "HEAD", Path: "/a"},
		{Method: "GET", Path: "/b", File: "y.py", Line: 5, Summary: "later", Tags: []string{"b"},
			Params: []Param{{Name: "q", In: "query", Type: "string"}}},
		{Method: "POST", Path: "/b"},
	})
	wantRows(t, got, "HEAD /a :0", "ALL /a :0", "GET /b x.py:1", "POST /b :0", "DELETE /b x.py:9")
	merged := got[2]
	if merged.Summary != "later" || !reflect.DeepEqual(merged.Tags, []string{"a", "b"}) || len(merged.Params) != 1 {
		t.Errorf("merged duplicate = %+v, want the first definition completed by the second", merged)
	}
}

func TestEndpointJSONHasArraysNotNull(t *testing.T) {
	eps := extract(t, framework.Express, map[string]string{"app.js": `
const app = require('express')();
app.get('/', (req, res) => res.send('hi'));
`})
	b, err := json.Marshal(eps)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"method":"GET","path":"/","summary":"","description":"","params":[],"tags":[],"file":"app.js","line":2,"source":"static"}]`
	if string(b) != want {
		t.Errorf("json:\n got %s\nwant %s", b, want)
	}
}

func TestSplitDoc(t *testing.T) {
	cases := []struct{ doc, summary, description string }{
		{"", "", ""},
		{"One line.", "One line.", ""},
		{"\n    Summary here.\n\n    Details,\n      indented.\n    ", "Summary here.", "Details,\n  indented."},
		{"Summary.\n    More.", "Summary.", "More."},
	}
	for _, c := range cases {
		s, d := splitDoc(c.doc)
		if s != c.summary || d != c.description {
			t.Errorf("splitDoc(%q) = %q, %q; want %q, %q", c.doc, s, d, c.summary, c.description)
		}
	}
}
