package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waitChecksOf polls GET …/checks until the checks of revision rev are
// final.
func (e *env) waitChecksOf(user, genID string, rev int) checksJSON {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c := e.waitChecks(user, genID)
		if c.Revision == rev {
			return c
		}
		if c.Revision > rev || time.Now().After(deadline) {
			e.t.Fatalf("checks of revision %d, want %d: %+v", c.Revision, rev, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkRow finds the check of method and url.
func checkRow(c checksJSON, method, url string) *endpointJSON {
	for i := range c.Endpoints {
		if c.Endpoints[i].Method == method && c.Endpoints[i].URL == url {
			return &c.Endpoints[i]
		}
	}
	return nil
}

func statusOf(row *endpointJSON) int {
	if row == nil || row.Status == nil {
		return 0
	}
	return *row.Status
}

// TestChecksAfterReload: a patch that a running preview takes in place is
// checked again; the checks of the new revision replace the old ones, say
// the route the patch broke answers 500 with the cause at the patched
// line, and the log stream says `event: checks` for the new revision.
func TestChecksAfterReload(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withChecks)
	gen := e.upload("alice", "checks-flask")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	defer e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)
	c := e.waitChecksOf("alice", gen, 1)
	if got := statusOf(checkRow(c, "GET", "/")); c.State != "done" || got != 200 {
		t.Fatalf("checks of revision 1: GET / %d; %+v", got, c)
	}
	first := *c.CheckedAt

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stream, err := e.openStream(ctx, gen, "alice", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	events := make(chan map[string]any, 10)
	go readEvents(stream.Body, func(ev sseEvent) bool {
		if ev.event == "checks" {
			var d map[string]any
			_ = json.Unmarshal([]byte(ev.data), &d)
			events <- d
		}
		return true
	})

	src := sampleFile(t, "checks-flask", "app.py")
	broken := strings.Replace(src, `return "<!doctype html><title>flask checks</title><h1>hello</h1>"`,
		`return "<!doctype html><title>flask checks</title><h1>%d</h1>" % PRICES["total"]`, 1)
	if broken == src {
		t.Fatal("the sample's index view changed; update the patch")
	}
	r = e.patch("alice", gen, map[string]any{"files": []map[string]string{{"path": "app.py", "content": broken}}})
	mustStatus(t, r, http.StatusOK)
	if r.body["reload"] != "in_place" || r.body["serving_revision"] != 2.0 {
		t.Fatalf("patch: %s", r.raw)
	}
	c = e.waitChecksOf("alice", gen, 2)
	if c.State != "done" || c.CheckedAt == nil || !c.CheckedAt.After(first) {
		t.Fatalf("checks of revision 2: %+v", c)
	}
	index := checkRow(c, "GET", "/")
	if statusOf(index) != 500 {
		t.Fatalf("GET / after the patch: %+v", c.Endpoints)
	}
	if cs := index.Cause; cs == nil || cs.Kind != "exception" || cs.File != "app.py" || cs.Line != 11 || !strings.Contains(cs.Message, "KeyError: 'total'") {
		t.Errorf("GET / cause %+v; log %q", index.Cause, index.Log)
	}
	if got := statusOf(checkRow(c, "GET", "/prices/test")); got != 500 {
		t.Errorf("GET /prices/test: %d, want the 500 it answered before", got)
	}
	for {
		select {
		case ev := <-events:
			if ev["revision"] != 2.0 {
				continue
			}
			if ev["state"] != "done" || ev["failing"] != 2.0 {
				t.Errorf("event: checks of revision 2: %v", ev)
			}
			return
		case <-ctx.Done():
			t.Fatal("no event: checks for revision 2")
		}
	}
}

// TestChecksDjango: the checks call a Django app's routes as its URLconf
// declares them (an include, an int and a slug converter), each row with
// the lines the app printed during it, and a view that raises answers 500
// with the cause at the app's own line from the traceback Django logs.
func TestChecksDjango(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withChecks)
	gen := e.upload("alice", "checks-django")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	defer e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)
	c := e.waitChecks("alice", gen)
	if c.State != "done" || c.Revision != 1 {
		t.Fatalf("checks %+v", c)
	}
	want := map[string]int{"/": 200, "/health/": 200, "/api/items/": 200, "/api/items/1/": 500, "/api/items/by-name/test/": 200}
	for url, status := range want {
		if got := statusOf(checkRow(c, "GET", url)); got != status {
			t.Errorf("GET %s: %d, want %d", url, got, status)
		}
	}
	if len(c.Endpoints) != len(want) {
		t.Errorf("%d endpoints checked, want %d: %+v", len(c.Endpoints), len(want), c.Endpoints)
	}
	if h := checkRow(c, "GET", "/health/"); h == nil || !contains(h.Log, "health checked") || contains(h.Log, "reading item") {
		t.Errorf("GET /health/ log %+v", h)
	}
	item := checkRow(c, "GET", "/api/items/1/")
	if item == nil {
		t.Fatalf("no check of /api/items/1/: %+v", c.Endpoints)
	}
	if item.Path != "/api/items/{item_id}/" || !contains(item.Log, "reading item 1") || !contains(item.Log, "KeyError: 1") {
		t.Errorf("GET /api/items/1/: path %q, log %q", item.Path, item.Log)
	}
	if cs := item.Cause; cs == nil || cs.Kind != "exception" || cs.File != "items/views.py" || cs.Line != 14 || !strings.Contains(cs.Message, "KeyError") {
		t.Errorf("cause %+v", item.Cause)
	}
}
