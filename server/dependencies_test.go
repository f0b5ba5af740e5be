package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/previewd/previewd/db/localpg"
	dockerbackend "github.com/previewd/previewd/sandbox/docker"
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

// engineProxy relays a unix socket to the Docker engine's, and can be cut
// and restored, so a test can take "the engine" away from one previewd
// without touching the engine that other tests use.
type engineProxy struct {
	t    *testing.T
	path string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newEngineProxy(t *testing.T) *engineProxy {
	p := &engineProxy{t: t, path: filepath.Join(shortTempDir(t), "engine.sock"), conns: map[net.Conn]bool{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *engineProxy) host() string { return "unix://" + p.path }

func (p *engineProxy) up() {
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
}

func (p *engineProxy) relay(c net.Conn) {
	engine, err := net.Dial("unix", "/var/run/docker.sock")
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[engine] = true, true
	p.mu.Unlock()
	go func() { io.Copy(engine, c); engine.Close() }()
	io.Copy(c, engine)
	c.Close()
}

// down refuses new connections and breaks the open ones.
func (p *engineProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	os.Remove(p.path)
}

// TestEngineDown takes the Docker engine away from a running previewd: launches
// answer 503 unavailable and /readyz fails, a running preview keeps running
// and answering (it is not mistaken for a crash), and everything recovers by
// itself once the engine is back.
func TestEngineDown(t *testing.T) {
	requireInfra(t, true)
	proxy := newEngineProxy(t) // first, so that it is up while the env cleans up
	e := newEnv(t)
	e.stop()
	docker, err := dockerbackend.NewAt(proxy.host(), e.dockerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker.Close() })
	e.docker = docker
	e.start()

	running := e.upload("alice", "flask")
	r := e.launch("alice", running, nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)

	proxy.down()
	if code, _ := get(t, e.api.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the engine down: %d, want 503", code)
	}
	refused := e.launch("alice", e.upload("alice", "express"), nil)
	if refused.status != http.StatusServiceUnavailable || refused.errorCode() != "unavailable" {
		t.Errorf("launch with the engine down: %d %s, want 503 unavailable", refused.status, refused.raw)
	}
	// The preview does not need the engine to answer, and previewd must not
	// take the lost engine for the app's exit.
	time.Sleep(2 * time.Second)
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "hello from flask") {
		t.Errorf("running preview with the engine down: %d %q", code, body)
	}
	if st := e.waitStatus("alice", running, func(map[string]any) bool { return true }); st["status"] != "running" {
		t.Errorf("running preview's status with the engine down: %v", st["status"])
	}

	proxy.up()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := get(t, e.api.URL+"/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 15 s after the engine came back", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	back := time.Now()
	mustStatus(t, e.launch("alice", e.upload("alice", "express"), nil), http.StatusCreated)
	// Its live figures come back too: a fresh stats sample.
	st := e.waitStatus("alice", running, func(s map[string]any) bool {
		at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(s["stats_at"]))
		return at.After(back)
	})
	at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(st["stats_at"]))
	if st["status"] != "running" || st["memory_bytes"] == nil || !at.After(back) {
		t.Errorf("the first preview after recovery has no fresh stats: %v", st)
	}
	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+running+"/preview", "alice", "", nil), http.StatusOK)
	if n := e.containers(); n != 1 {
		t.Errorf("%d containers, want the express preview only", n)
	}
}
