package server_test

import (
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
	}{
		{"/crash", nil, 3, false, "code 3"},
		{"/oom", map[string]any{"memory_mb": 96}, 137, true, "out of memory"},
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
			e.checkReleased(t, port)
			e.checkLogSays(t, gen, c.inError)
		})
	}
}
