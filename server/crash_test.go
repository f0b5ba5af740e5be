package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCrashAfterStart checks that a preview whose app dies after it started
// is reported failed with its exit code (or the OOM kill) as soon as the
// engine sees it, with a system log line, and that its port is freed.
func TestCrashAfterStart(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	cases := []struct {
		path     string
		body     map[string]any
		exitCode float64
		oom      bool
		inError  string
		cause    string
	}{
		{"/crash", nil, 3, false, "code 3", "exit"},
		{"/oom", map[string]any{"memory_mb": 96}, 137, true, "out of memory", "oom"},
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			gen := e.upload("alice", "crash-later")
			r := e.launch("alice", gen, c.body)
			mustStatus(t, r, http.StatusCreated)
			port := int(r.body["port"].(float64))
			triggered := time.Now()
			resp, err := http.Post(r.body["base_url"].(string)+c.path, "text/plain", nil)
			if err == nil {
				resp.Body.Close()
			}
			st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["status"] != "running" })
			t.Logf("%s reported as %v after %s", c.path, st["status"], time.Since(triggered).Round(time.Millisecond))
			if st["status"] != "failed" || st["exit_code"] != c.exitCode || st["oom_killed"] != c.oom ||
				!strings.Contains(st["error"].(string), c.inError) {
				t.Fatalf("status: %v", st)
			}
			if k := causeKind(st); k != c.cause {
				t.Fatalf("cause %q, want %q: %v", k, c.cause, st["cause"])
			}
			e.checkReleased(t, port)
			e.checkLogSays(t, gen, c.inError)
		})
	}
}

// TestRestartPolicy: with "restart": {"max": 2} a crashing app is restarted
// twice, with backoff, on the same port and record, and the third crash ends
// the preview as a crash loop.
func TestRestartPolicy(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "crash-later")
	r := e.launch("alice", gen, map[string]any{"restart": map[string]any{"max": 2}})
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	port := int(r.body["port"].(float64))
	crash := func() {
		resp, err := http.Post(base+"/crash", "text/plain", nil)
		if err == nil {
			resp.Body.Close()
		}
	}
	for n := 1; n <= 2; n++ {
		crash()
		deadline := time.Now().Add(30 * time.Second)
		for {
			st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["restarts"] == float64(n) })
			if st["status"] != "running" || st["restarts"] != float64(n) {
				t.Fatalf("after crash %d: %v", n, st)
			}
			if resp, err := http.Get(base + "/"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("restart %d never answered on %s", n, base)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	e.checkLogSays(t, gen, "restarting it in 1s (restart 1 of 2)")
	e.checkLogSays(t, gen, "restarting it in 2s (restart 2 of 2)")
	e.checkLogSays(t, gen, "restarted: the app answers HTTP again")

	crash()
	st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["status"] != "running" })
	if st["status"] != "failed" || st["exit_code"] != float64(3) || st["restarts"] != float64(2) ||
		!strings.Contains(st["error"].(string), "crash loop") {
		t.Fatalf("after the third crash: %v", st)
	}
	if k := causeKind(st); k != "crash_loop" {
		t.Fatalf("cause %q after the third crash, want crash_loop: %v", k, st["cause"])
	}
	e.checkReleased(t, port)

	bad := e.launch("alice", e.upload("alice", "crash-later"), map[string]any{"restart": map[string]any{"max": 11}})
	mustStatus(t, bad, http.StatusUnprocessableEntity)
}

// TestChildOOMKillReported: a child process killed for memory while the app
// keeps running is counted in the status and said in the log, at once.
func TestChildOOMKillReported(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "crash-later")
	r := e.launch("alice", gen, map[string]any{"memory_mb": 128})
	mustStatus(t, r, http.StatusCreated)
	resp, err := http.Post(r.body["base_url"].(string)+"/oom-child", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"child_exit":-9`) {
		t.Fatalf("the child was not killed: %s", body)
	}
	killed := time.Now()
	st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["oom_kills"] != float64(0) })
	t.Logf("reported after %s", time.Since(killed).Round(time.Millisecond))
	if st["status"] != "running" || st["oom_kills"] != float64(1) || st["oom_killed"] != false {
		t.Fatalf("status: %v", st)
	}
	e.checkLogSays(t, gen, "killed: out of memory (limit 128 MiB")
}

// causeKind is the kind of a status's cause, or "".
func causeKind(st map[string]any) string {
	c, _ := st["cause"].(map[string]any)
	k, _ := c["kind"].(string)
	return k
}
