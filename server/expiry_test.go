package server_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExpiry checks that a preview expires after its ttl and after sitting
// idle: status becomes expired with a reason, the container is removed, the
// port returns to the pool, a system log line says why, and the session token
// stops working. Proxied requests keep an idle preview alive; status calls do
// not.
func TestExpiry(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withProxy, func(c *sandboxConfig, _ *serverConfig) { c.IdleTimeout = 4 * time.Second })

	t.Run("uptime", func(t *testing.T) {
		gen := e.upload("alice", "flask")
		r := e.launch("alice", gen, map[string]any{"ttl_seconds": 2})
		mustStatus(t, r, http.StatusCreated)
		st := e.waitExpired(gen, 15*time.Second)
		if !strings.Contains(st["error"].(string), "maximum uptime") {
			t.Fatalf("status: %v", st)
		}
		e.checkReleased(t, int(r.body["port"].(float64)))
		e.checkLogSays(t, gen, "maximum uptime")
	})

	t.Run("idle", func(t *testing.T) {
		p := e.launchEcho("alice", "idle")
		b := newBrowser(e)
		c := b.sessionCookie(t, p)
		// Proxied traffic for longer than the idle timeout keeps it running.
		for end := time.Now().Add(6 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
			if resp, raw := b.send("GET", p.host(), "/echo/keepalive", withCookie(c), nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("proxied request: %d %s", resp.StatusCode, raw)
			}
		}
		st := e.call("GET", "/api/v1/generations/"+p.gen+"/preview/status", "alice", "", nil)
		if st.body["status"] != "running" || st.body["idle_expires_at"] == nil {
			t.Fatalf("kept alive by traffic, yet: %s", st.raw)
		}
		port := int(st.body["port"].(float64))
		// Status calls alone do not count as activity.
		got := e.waitExpired(p.gen, 15*time.Second)
		if !strings.Contains(got["error"].(string), "idle") {
			t.Fatalf("status: %v", got)
		}
		e.checkReleased(t, port)
		e.checkLogSays(t, p.gen, "idle")
		if resp, _ := b.send("GET", p.host(), "/echo/after", withCookie(c), nil); resp.StatusCode == http.StatusOK {
			t.Fatal("the session of an expired preview still reaches something")
		}
	})
}

// waitExpired polls the status until it is expired.
func (e *env) waitExpired(gen string, within time.Duration) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
		if r.body["status"] == "expired" {
			return r.body
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("not expired after %s: %s", within, r.raw)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (e *env) checkReleased(t *testing.T, port int) {
	t.Helper()
	if n := e.containers(); n != 0 {
		t.Fatalf("%d containers left after expiry", n)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d not released: %v", port, err)
	}
	l.Close()
}

// checkLogSays fails unless a system line of gen's log mentions want within
// a few seconds: runner events that follow no status change (a restart that
// answers again) are stored while the test goes on.
func (e *env) checkLogSays(t *testing.T, gen, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.call("GET", "/api/v1/generations/"+gen+"/preview/logs?limit=1000", "alice", "", nil)
		mustStatus(t, r, http.StatusOK)
		for _, l := range r.body["lines"].([]any) {
			line := l.(map[string]any)
			if line["stream"] == "system" && strings.Contains(line["line"].(string), want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no system log line mentions %q: %s", want, r.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
