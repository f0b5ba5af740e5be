package server_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/previewd/previewd/db/localpg"
)

// TestDatabaseDown stops PostgreSQL under a running previewd: the API answers
// 503 unavailable (and /readyz fails), no container is created, the running
// preview keeps answering, and everything recovers once PostgreSQL is back.
func TestDatabaseDown(t *testing.T) {
	requireInfra(t, true)
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pgdown")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg, err := localpg.Start(ctx, localpg.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	dbURL, err := pg.CreateDatabase(ctx, "down")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	e := newEnvOn(t, dbURL)
	running := e.upload("alice", "flask")
	r := e.launch("alice", running, nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	waiting := e.upload("alice", "express")

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, call := range []response{
		e.launch("alice", waiting, nil),
		e.call("GET", "/api/v1/generations", "alice", "", nil),
		e.call("GET", "/api/v1/generations/"+running+"/preview/status", "alice", "", nil),
	} {
		if call.status != http.StatusServiceUnavailable || call.errorCode() != "unavailable" {
			t.Fatalf("with PostgreSQL down: %d %s, want 503 unavailable", call.status, call.raw)
		}
		if strings.Contains(string(call.raw), "pq:") || strings.Contains(string(call.raw), "127.0.0.1") {
			t.Fatalf("error leaks internals: %s", call.raw)
		}
	}
	if r := e.call("GET", "/readyz", "", "", nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with PostgreSQL down: %d %s", r.status, r.raw)
	}
	if n := e.containers(); n != 1 {
		t.Fatalf("%d containers, want only the running preview's", n)
	}
	if code, _ := get(t, base+"/"); code != 200 {
		t.Fatalf("the running preview stopped answering: %d", code)
	}

	pg, err = localpg.Start(ctx, localpg.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.call("GET", "/readyz", "", "", nil).status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("readyz did not recover")
		}
		time.Sleep(200 * time.Millisecond)
	}
	r = e.launch("alice", waiting, nil)
	mustStatus(t, r, http.StatusCreated)
	if code, body := get(t, r.body["base_url"].(string)+"/"); code != 200 || !strings.Contains(body, "hello from express") {
		t.Fatalf("after recovery: %d %q", code, body)
	}
}
