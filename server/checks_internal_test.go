package server

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/cause"
	"github.com/previewd/previewd/sandbox/endpoints"
)

func TestFillPath(t *testing.T) {
	param := func(name, typ string) endpoints.Param {
		return endpoints.Param{Name: name, In: "path", Type: typ, Required: true}
	}
	for _, tc := range []struct {
		path   string
		params []endpoints.Param
		want   string
		ok     bool
	}{
		{"/", nil, "/", true},
		{"/items/{id}", []endpoints.Param{param("id", "integer")}, "/items/1", true},
		{"/items/{id}", []endpoints.Param{param("id", "string")}, "/items/test", true},
		{"/items/{id}", nil, "/items/test", true},
		{"/prices/{p}", []endpoints.Param{param("p", "number")}, "/prices/1", true},
		{"/flags/{on}", []endpoints.Param{param("on", "boolean")}, "/flags/true", true},
		{"/users/{user_uuid}/posts/{slug}", []endpoints.Param{param("user_uuid", "string")}, "/users/" + checkUUID + "/posts/test", true},
		{"/o/{id}", []endpoints.Param{param("id", "uuid")}, "/o/" + checkUUID, true},
		{"/api/notes/{slug}.{format}", nil, "/api/notes/test.json", true},
		{"/files/*", nil, "", false},
		{"^articles/(?P<year>[0-9]{4})/$", nil, "", false},
		{"/a/{", nil, "", false},
		{"/a/}b", nil, "", false},
		{"/a/{}", nil, "", false},
		{"relative", nil, "", false},
	} {
		got, ok := fillPath(tc.path, tc.params)
		if got != tc.want || ok != tc.ok {
			t.Errorf("fillPath(%q) = %q, %v; want %q, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCheckTargets(t *testing.T) {
	no := false
	eps := []endpoints.Endpoint{
		{Method: "GET", Path: "/", File: "main.py", Line: 3},
		{Method: "POST", Path: "/items"},
		{Method: "GET", Path: "/items/{id}", Params: []endpoints.Param{{Name: "id", In: "path", Type: "integer"}}},
		{Method: "HEAD", Path: "/health"},
		{Method: "ALL", Path: "/any"},
		{Method: "DELETE", Path: "/items/{id}"},
		{Method: "GET", Path: "/orphan", Mounted: &no},
		{Method: "GET", Path: "/files/*"},
		{Method: "GET", Path: "/last"},
	}
	var got []string
	for _, tg := range checkTargets(eps, 50) {
		got = append(got, tg.method+" "+tg.target)
	}
	want := []string{"GET /", "GET /items/1", "HEAD /health", "GET /any", "GET /last"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("targets %q, want %q", got, want)
	}
	if n := len(checkTargets(eps, 2)); n != 2 {
		t.Fatalf("max 2 gave %d targets", n)
	}
}

func TestChecksSummary(t *testing.T) {
	st := func(n int) *int { return &n }
	msg := "the app refused or dropped the connection"
	checks := []endpointCheck{
		{Method: "GET", Path: "/", Status: st(200)},
		{Method: "GET", Path: "/items", Status: st(200)},
		{Method: "GET", Path: "/items/{id}", Status: st(500), Cause: &cause.Cause{Kind: cause.RequestException, Message: "KeyError: 'price'", File: "routers/items.py", Line: 31}},
		{Method: "GET", Path: "/missing/{id}", Status: st(404)},
	}
	if got, want := checksSummary(checks), "4 endpoints: 2 ok, 1 500 at GET /items/{id} — KeyError: 'price' in routers/items.py:31, 1 404"; got != want {
		t.Errorf("summary\n%q, want\n%q", got, want)
	}
	checks = append(checks, endpointCheck{Method: "GET", Path: "/b", Status: st(500)}, endpointCheck{Method: "HEAD", Path: "/c", Error: &msg})
	got := checksSummary(checks)
	if !strings.Contains(got, "2 500, first at GET /items/{id}") || !strings.Contains(got, "1 no answer") {
		t.Errorf("summary %q", got)
	}
	if got := checksSummary(nil); got != "no endpoints to check" {
		t.Errorf("empty summary %q", got)
	}
}

func TestHTMLPaths(t *testing.T) {
	st := func(n int) *int { return &n }
	checks := []endpointCheck{
		{Method: "GET", URL: "/", Status: st(200), ContentType: "text/html; charset=utf-8"},
		{Method: "GET", URL: "/about", Status: st(200), ContentType: "text/html; charset=utf-8"},
		{Method: "GET", URL: "/api", Status: st(200), ContentType: "application/json"},
		{Method: "HEAD", URL: "/h", Status: st(200), ContentType: "text/html"},
		{Method: "GET", URL: "/broken", Status: st(500), ContentType: "text/html"},
		{Method: "GET", URL: "/a", Status: st(200), ContentType: "text/html"},
		{Method: "GET", URL: "/b", Status: st(200), ContentType: "text/html"},
	}
	if got, want := htmlPaths(checks, 3), []string{"/", "/about", "/a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("paths %q, want %q", got, want)
	}
}

func TestRequestCause(t *testing.T) {
	lines := []string{
		`INFO:     172.17.0.1:0 - "GET /items/1 HTTP/1.1" 500 Internal Server Error`,
		`ERROR:    Exception in ASGI application`,
		`Traceback (most recent call last):`,
		`  File "/usr/local/lib/python3.12/site-packages/uvicorn/protocols/http/h11_impl.py", line 403, in run_asgi`,
		`    result = await app(  # type: ignore[func-returns-value]`,
		`  File "/app/routers/items.py", line 31, in read_item`,
		`    return {"price": item["price"]}`,
		`KeyError: 'price'`,
	}
	c, ok := cause.OfRequest(lines, nil)
	if !ok || c.Kind != cause.RequestException || c.File != "routers/items.py" || c.Line != 31 || c.Message != "KeyError: 'price'" {
		t.Fatalf("cause %+v, %v", c, ok)
	}
	if _, ok := cause.OfRequest([]string{`INFO: "GET / HTTP/1.1" 500`}, nil); ok {
		t.Fatal("a cause without a trace")
	}
}

// TestPageProxyNeedsItsKey: the browser check's listener serves nothing
// without the key of a check under way.
func TestPageProxyNeedsItsKey(t *testing.T) {
	pp := newPageProxy(&Server{})
	pp.byKey["k1"] = db.Preview{ID: "p1"}
	for _, cookie := range []string{"", pageKeyCookie + "=", pageKeyCookie + "=k2", "other=k1"} {
		r := httptest.NewRequest("GET", "http://127.0.0.1/", nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		pp.serve(w, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("cookie %q: %d", cookie, w.Code)
		}
	}
}
