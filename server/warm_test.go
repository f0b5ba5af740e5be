package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/server"
)

func withWarmPool(n int) envOption {
	return func(c *sandbox.Config, _ *server.Config) { c.WarmPool = n }
}

// waitWarm waits until the pool holds ready containers of every runtime image.
func (e *env) waitWarm(want int) {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ready, _ := e.mgr.WarmCounts()
		if ready[pythonImage] >= want && ready[nodeImage] >= want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("warm pool not ready after 90 s: %v", ready)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWarmLaunch launches every framework into warm containers: each answers,
// says it is warm, runs with the same hardening as a cold one, and the pool
// refills behind it.
func TestWarmLaunch(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withWarmPool(1))
	e.waitWarm(1)
	if n := e.containers(); n != 2 {
		t.Fatalf("%d containers with a pool of 1 per runtime, want 2", n)
	}

	for _, fw := range []string{"fastapi", "flask", "express", "django"} {
		t.Run(fw, func(t *testing.T) {
			gen := e.upload("alice", fw)
			r := e.launch("alice", gen, map[string]any{"memory_mb": 320, "cpus": 0.75})
			mustStatus(t, r, http.StatusCreated)
			if r.body["warm"] != true {
				t.Fatalf("launch answered warm=%v, want true: %s", r.body["warm"], r.raw)
			}
			t.Logf("timings_ms %v", r.body["timings_ms"])
			if code, body := get(t, r.body["base_url"].(string)+"/"); code != 200 || !strings.Contains(body, "hello from "+fw) {
				t.Fatalf("base_url: %d %q", code, body)
			}
			st := e.waitStatus("alice", gen, func(b map[string]any) bool { return b["status"] == "running" })
			if st["warm"] != true {
				t.Errorf("status warm=%v, want true", st["warm"])
			}
			e.checkLogSays(t, gen, "in a warm container")

			info := e.inspectCapped(t, r.body["preview_id"].(string), 0.75)
			h := info.HostConfig
			port := int(r.body["port"].(float64))
			checks := map[string]bool{
				"own non-root user":  info.Config.User == fmt.Sprintf("%d:%d", sandbox.SandboxUID(port), sandbox.SandboxUID(port)),
				"caps dropped":       len(h.CapDrop) == 1 && h.CapDrop[0] == "ALL",
				"read-only root":     h.ReadonlyRootfs,
				"no network":         string(h.NetworkMode) == "none",
				"launch's memory":    h.Memory == 320<<20 && h.MemorySwap == 320<<20,
				"launch's cpus":      h.NanoCPUs == 750_000_000,
				"warm label":         info.Config.Labels[sandbox.LabelWarm] == "true",
				"preview label":      info.Config.Labels[sandbox.LabelPreview] == r.body["preview_id"],
				"runner label":       info.Config.Labels[sandbox.LabelRunner] == e.runner,
				"port label":         info.Config.Labels[sandbox.LabelPort] == strings.TrimPrefix(r.body["base_url"].(string), "http://127.0.0.1:"),
				"bounded engine log": h.LogConfig.Config["max-file"] == "2",
			}
			for name, ok := range checks {
				if !ok {
					t.Errorf("%s: no", name)
				}
			}
			// The pool refills, and the preview stops like any other.
			e.waitWarm(1)
			mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
			if n := e.containers(); n != 2 {
				t.Errorf("%d containers after stop, want the 2 pooled", n)
			}
		})
	}
}

// TestWarmFallsBackToCold: launches a preloaded interpreter cannot serve
// take the cold path.
func TestWarmFallsBackToCold(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withWarmPool(1))
	e.waitWarm(1)
	cases := map[string]map[string]any{
		"interpreter env":                   {"env": map[string]string{"PYTHONHASHSEED": "1"}},
		"memory below the preloader's need": {"memory_mb": 96},
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			gen := e.upload("alice", "flask")
			r := e.launch("alice", gen, body)
			mustStatus(t, r, http.StatusCreated)
			if r.body["warm"] != false {
				t.Errorf("warm=%v, want a cold launch", r.body["warm"])
			}
			if code, body := get(t, r.body["base_url"].(string)+"/"); code != 200 || !strings.Contains(body, "hello from flask") {
				t.Errorf("base_url: %d %q", code, body)
			}
		})
	}
}

// TestWarmCrashAndCapacity: a warm launch of a crashing app fails like a
// cold one, and cold launches evict pooled containers rather than being
// refused for them.
func TestWarmCrashAndCapacity(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withWarmPool(1), func(c *sandbox.Config, _ *server.Config) { c.MaxPreviews = 3 })
	e.waitWarm(1)

	r := e.launch("alice", e.upload("alice", "crash"), nil)
	mustStatus(t, r, http.StatusUnprocessableEntity)
	if code := r.errorField("exit_code"); code != float64(1) {
		t.Errorf("exit_code = %v, want 1", code)
	}
	if tail, _ := r.errorField("log_tail").([]any); !strings.Contains(joinAny(tail), "boom") {
		t.Errorf("log_tail lacks the traceback: %v", tail)
	}

	// Three cold launches fill all three slots; the pooled containers make way.
	cold := map[string]any{"env": map[string]string{"PYTHONHASHSEED": "1"}}
	for i := range 3 {
		r := e.launch("alice", e.upload("alice", "flask"), cold)
		mustStatus(t, r, http.StatusCreated)
		if i == 2 {
			ready, loading := e.mgr.WarmCounts()
			if len(ready)+len(loading) != 0 {
				t.Errorf("pool still holds %v ready, %v loading at full capacity", ready, loading)
			}
		}
	}
	r = e.launch("alice", e.upload("alice", "flask"), cold)
	mustStatus(t, r, http.StatusServiceUnavailable)
	deadline := time.Now().Add(10 * time.Second)
	for e.containers() != 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := e.containers(); n != 3 {
		t.Errorf("%d containers, want the 3 previews", n)
	}
}

// TestWarmPoolAfterRestart: a stop leaves the preview launched warm running
// and removes the pooled containers nobody claimed; the restart adopts the
// preview and fills the pool anew.
func TestWarmPoolAfterRestart(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withWarmPool(1))
	e.waitWarm(1)
	gen := e.upload("alice", "express")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	e.waitWarm(1)
	e.stop()
	if n := e.containers(); n != 1 {
		t.Errorf("%d containers after previewd stopped, want the preview only", n)
	}
	e.start()
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "hello from express") {
		t.Fatalf("adopted preview: %d %q", code, body)
	}
	e.waitWarm(1)
	if n := e.containers(); n != 3 {
		t.Errorf("%d containers after the restart, want 1 preview + 2 pooled", n)
	}
}

func joinAny(xs []any) string {
	var b strings.Builder
	for _, x := range xs {
		s, _ := x.(string)
		b.WriteString(s + "\n")
	}
	return b.String()
}

// TestWarmGunicornInProcess: a warm gunicorn with one worker runs that worker
// in the preloaded process, with no fork; one whose worker must be replaced
// after some requests (--max-requests, through GUNICORN_CMD_ARGS) gets
// gunicorn's own arbiter and a forked worker. Both answer and stop cleanly.
func TestWarmGunicornInProcess(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withWarmPool(1))
	cases := []struct {
		name  string
		body  map[string]any
		procs int // Python processes in the container
	}{
		{"one worker", nil, 1},
		{"max requests", map[string]any{"env": map[string]string{"GUNICORN_CMD_ARGS": "--max-requests 1000"}}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.waitWarm(1)
			gen := e.upload("alice", "flask")
			r := e.launch("alice", gen, c.body)
			mustStatus(t, r, http.StatusCreated)
			if r.body["warm"] != true {
				t.Fatalf("warm=%v, want a warm launch: %s", r.body["warm"], r.raw)
			}
			if code, body := get(t, r.body["base_url"].(string)+"/api/items/7"); code != 200 || !strings.Contains(body, `"id":7`) {
				t.Fatalf("base_url: %d %q", code, body)
			}
			id := r.body["preview_id"].(string)
			var python []string
			// Gunicorn's arbiter forks its workers just after it answers.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				python = python[:0]
				for _, p := range e.processes(t, id) {
					if strings.HasPrefix(p, "python3 ") || strings.HasPrefix(p, "gunicorn") {
						python = append(python, p)
					}
				}
				if len(python) == c.procs || time.Now().After(deadline) {
					break
				}
			}
			if len(python) != c.procs {
				t.Errorf("%d Python processes %q, want %d", len(python), python, c.procs)
			}
			mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
			st := e.waitStatus("alice", gen, func(b map[string]any) bool { return b["status"] == "stopped" })
			if st["error"] != nil {
				t.Errorf("stopped with error %v", st["error"])
			}
			if logs := e.call("GET", "/api/v1/generations/"+gen+"/preview/logs?limit=1000", "alice", "", nil); !strings.Contains(string(logs.raw), "Worker exiting") {
				t.Errorf("gunicorn did not say its worker stopped: %s", logs.raw)
			}
		})
	}
}

// TestStatusRightAfterLaunchHasFigures: a status call right after the launch's
// 201, before the stats stream's first sample, reads the figures on demand,
// for a warm launch (whose answer comes in tens of milliseconds) as for a
// cold one.
func TestStatusRightAfterLaunchHasFigures(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withWarmPool(1))
	e.waitWarm(1)
	for _, sample := range []string{"flask", "express"} {
		gen := e.upload("alice", sample)
		start := time.Now()
		mustStatus(t, e.launch("alice", gen, nil), http.StatusCreated)
		launched := time.Since(start)
		start = time.Now()
		r := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
		mustStatus(t, r, http.StatusOK)
		first := time.Since(start)
		start = time.Now()
		mustStatus(t, e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil), http.StatusOK)
		t.Logf("%s: launch answered in %s, the first status in %s, the next in %s", sample, launched, first, time.Since(start))
		for _, k := range []string{"memory_bytes", "cpu_percent", "pids"} {
			if r.body[k] == nil {
				t.Errorf("%s: %s is null right after the launch: %s", sample, k, r.raw)
			}
		}
		if mem, _ := r.body["memory_bytes"].(float64); mem < 1<<20 {
			t.Errorf("%s: memory_bytes %v, want the app's few MiB at least", sample, r.body["memory_bytes"])
		}
		if pids, _ := r.body["pids"].(float64); pids < 1 {
			t.Errorf("%s: pids %v, want the app's processes", sample, r.body["pids"])
		}
	}
}
