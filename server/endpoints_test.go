package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type endpointRow struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Source string `json:"source"`
	// Confirmed is false for a row the running app's table lacks.
	Confirmed *bool `json:"confirmed"`
	Params    []struct {
		Name string `json:"name"`
		In   string `json:"in"`
		Type string `json:"type"`
	} `json:"params"`
}

func (e *env) endpoints(user, gen string) (string, map[string]endpointRow) {
	e.t.Helper()
	r := e.call("GET", "/api/v1/generations/"+gen+"/preview/endpoints", user, "", nil)
	mustStatus(e.t, r, http.StatusOK)
	var body struct {
		Framework string        `json:"framework"`
		Endpoints []endpointRow `json:"endpoints"`
	}
	if err := json.Unmarshal(r.raw, &body); err != nil {
		e.t.Fatal(err)
	}
	rows := map[string]endpointRow{}
	for _, ep := range body.Endpoints {
		rows[ep.Method+" "+ep.Path] = ep
	}
	return body.Framework, rows
}

// TestEndpointsFromSource lists each sample's routes from its files alone,
// with no preview running.
func TestEndpointsFromSource(t *testing.T) {
	requireInfra(t, false)
	e := newEnv(t)
	want := map[string][]string{
		"fastapi": {"GET /", "GET /api/items/{item_id}"},
		"flask":   {"GET /", "GET /api/items/{item_id}"},
		"django":  {"ALL /", "ALL /api/items/{item_id}"}, // function views that check no method
		"express": {"GET /", "GET /api/items/{id}"},
	}
	for fw, routes := range want {
		gen := e.upload("alice", fw)
		got, rows := e.endpoints("alice", gen)
		if got != fw {
			t.Errorf("%s: framework %q", fw, got)
		}
		for _, route := range routes {
			row, ok := rows[route]
			if !ok {
				t.Errorf("%s: no %s in %v", fw, route, rows)
				continue
			}
			if row.Source != "static" || row.File == "" || row.Line < 1 {
				t.Errorf("%s %s: source %q file %q line %d", fw, route, row.Source, row.File, row.Line)
			}
		}
		// Another user's generation does not exist for bob.
		r := e.call("GET", "/api/v1/generations/"+gen+"/preview/endpoints", "bob", "", nil)
		mustStatus(t, r, http.StatusNotFound)
	}
}

// TestEndpointsMergeOpenAPI: routers included by a computed module name are
// invisible to the parser; once the FastAPI app runs, its own route table
// (or, without one, its /openapi.json) adds them, marked as such.
func TestEndpointsMergeOpenAPI(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{
		"name": "loop-include", "files": sampleFiles(t, "../endpoints/fastapi/loop-include"),
	})
	mustStatus(t, r, http.StatusCreated)
	gen := r.body["id"].(string)

	_, before := e.endpoints("alice", gen)
	if _, ok := before["GET /wishlist"]; ok {
		t.Fatalf("GET /wishlist found statically; the test needs a route only the running app shows")
	}
	mustStatus(t, e.launch("alice", gen, nil), http.StatusCreated)
	_, after := e.endpoints("alice", gen)
	row, ok := after["GET /wishlist"]
	if !ok || row.Source != "runtime" && row.Source != "openapi" {
		t.Fatalf("GET /wishlist after launch: %+v (found %v)", row, ok)
	}
	for route, st := range before {
		// A static row the running app confirms keeps where it is declared.
		if a, ok := after[route]; !ok || a.Source != st.Source && a.Source != "runtime" || a.File != st.File || a.Line != st.Line {
			t.Errorf("%s lost or changed by the merge: %+v", route, a)
		}
	}
	// The status counts what the files declare.
	st := e.waitStatus("alice", gen, func(b map[string]any) bool { return b["status"] == "running" })
	if st["endpoint_count"] != float64(len(before)) {
		t.Errorf("endpoint_count %v, want %d", st["endpoint_count"], len(before))
	}
}

// TestEndpointsTruncated: a file over the parse limit is left out, the
// answer says so and why, and the other files' routes are listed.
func TestEndpointsTruncated(t *testing.T) {
	requireInfra(t, false)
	e := newEnv(t) // uploads up to 1 MiB
	big := "from fastapi import APIRouter\nrouter = APIRouter()\n" + strings.Repeat("# padding\n", 60_000)
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": "big", "files": []map[string]string{
		{"path": "main.py", "content": helloFastAPI}, {"path": "zbig.py", "content": big},
	}})
	mustStatus(t, r, http.StatusCreated)
	gen := r.body["id"].(string)
	r = e.call("GET", "/api/v1/generations/"+gen+"/preview/endpoints", "alice", "", nil)
	mustStatus(t, r, http.StatusOK)
	reason, _ := r.body["truncated_reason"].(string)
	if r.body["truncated"] != true || !strings.Contains(reason, `"zbig.py"`) || !strings.Contains(reason, "not parsed") {
		t.Fatalf("truncated %v, reason %q", r.body["truncated"], reason)
	}
	if eps, _ := r.body["endpoints"].([]any); len(eps) != 1 {
		t.Fatalf("endpoints %v, want main.py's GET /", r.body["endpoints"])
	}

	small := e.upload("alice", "fastapi")
	r = e.call("GET", "/api/v1/generations/"+small+"/preview/endpoints", "alice", "", nil)
	mustStatus(t, r, http.StatusOK)
	if r.body["truncated"] != false || r.body["truncated_reason"] != nil {
		t.Fatalf("sample app: truncated %v, reason %v", r.body["truncated"], r.body["truncated_reason"])
	}
}

// TestEndpointsOpenAPIRedirect: an app whose /openapi.json redirects to
// another user's preview does not get that preview's routes listed, nor
// make previewd fetch them.
func TestEndpointsOpenAPIRedirect(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	const victimApp = "from fastapi import FastAPI\napp = FastAPI()\n\n" +
		"@app.get('/')\ndef root():\n    return {}\n\n" +
		"import importlib, os\n" +
		"for name in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):\n" +
		"    if name.startswith('routes_'):\n" +
		"        importlib.import_module(name[:-3]).attach(app)\n"
	const victimRoutes = "def attach(app):\n    @app.get('/bob-secret-ledger')\n    def ledger():\n        return {}\n"
	r := e.callJSON("POST", "/api/v1/generations", "bob", map[string]any{"name": "victim", "files": []map[string]string{
		{"path": "main.py", "content": victimApp}, {"path": "routes_ledger.py", "content": victimRoutes},
	}})
	mustStatus(t, r, http.StatusCreated)
	victimGen := r.body["id"].(string)
	r = e.launch("bob", victimGen, nil)
	mustStatus(t, r, http.StatusCreated)
	victimURL := r.body["base_url"].(string)
	// The route is only in bob's running app: its own list shows it.
	if _, rows := e.endpoints("bob", victimGen); rows["GET /bob-secret-ledger"].Source != "runtime" {
		t.Fatalf("bob's list lacks his runtime route: %v", rows)
	}

	const attacker = "import os\nfrom fastapi import FastAPI\nfrom fastapi.responses import RedirectResponse\n" +
		"app = FastAPI(openapi_url=None)\n\n" +
		"@app.get('/')\ndef root():\n    return {}\n\n" +
		"@app.get('/openapi.json', include_in_schema=False)\ndef spec():\n" +
		"    return RedirectResponse(os.environ['VICTIM'] + '/openapi.json', status_code=302)\n"
	r = e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": "attacker", "files": []map[string]string{
		{"path": "main.py", "content": attacker},
	}})
	mustStatus(t, r, http.StatusCreated)
	attackerGen := r.body["id"].(string)
	mustStatus(t, e.launch("alice", attackerGen, map[string]any{"env": map[string]string{"VICTIM": victimURL}}), http.StatusCreated)
	_, rows := e.endpoints("alice", attackerGen)
	if _, ok := rows["GET /bob-secret-ledger"]; ok {
		t.Fatalf("alice's list shows bob's route: %v", rows)
	}
	if _, ok := rows["GET /"]; !ok {
		t.Fatalf("alice's list lacks her own route: %v", rows)
	}
}
