package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// publicDomain is the host-routing domain of the proxy tests.
const publicDomain = "preview.localhost"

// withProxy turns on host routing, with a short request timeout and a small
// response cap so that the timeout and truncation are quick to reach.
func withProxy(_ *sandboxConfig, sc *serverConfig) {
	sc.PublicDomain = publicDomain
	sc.PublicPort = 8080
	sc.RequestTimeout = 2 * time.Second
	sc.MaxProxyBody = 64 << 10
}

// preview is a launched sample.
type preview struct {
	gen, id, token, proxyURL string
}

// host is the preview's own host under host routing.
func (p preview) host() string { return p.id + "." + publicDomain }

// launchEcho uploads and launches the proxy-echo app; name comes back in its echo.
func (e *env) launchEcho(user, name string) preview {
	e.t.Helper()
	gen := e.upload(user, "proxy-echo")
	r := e.launch(user, gen, map[string]any{"env": map[string]string{"PREVIEW_NAME": name}})
	mustStatus(e.t, r, http.StatusCreated)
	url, _ := r.body["proxy_url"].(string)
	return preview{gen: gen, id: r.body["preview_id"].(string), token: r.body["session_token"].(string), proxyURL: url}
}

// appRequest calls POST /request of p's generation with session token tok.
func (e *env) appRequest(user string, p preview, tok string, body any) response {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.api.URL+"/api/v1/generations/"+p.gen+"/preview/request", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(e.t, user))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("X-Preview-Token", tok)
	}
	return e.do(req)
}

// echoOf decodes the echo app's answer carried in a /request answer.
func echoOf(t *testing.T, r response) map[string]any {
	t.Helper()
	mustStatus(t, r, http.StatusOK)
	if r.body["body_encoding"] != "utf-8" {
		t.Fatalf("echo body not utf-8: %s", r.raw)
	}
	var echo map[string]any
	if err := json.Unmarshal([]byte(r.body["body"].(string)), &echo); err != nil {
		t.Fatalf("echo body: %v in %s", err, r.raw)
	}
	return echo
}

// TestRequest covers POST /request against a running Express echo app.
func TestRequest(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withProxy)
	a := e.launchEcho("alice", "A")
	b := e.launchEcho("alice", "B")

	t.Run("Methods", func(t *testing.T) {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			echo := echoOf(t, e.appRequest("alice", a, a.token, map[string]any{"method": m, "path": "/echo/m", "body": "x"}))
			if echo["method"] != m || echo["path"] != "/echo/m" || echo["name"] != "A" {
				t.Fatalf("%s: echo %v", m, echo)
			}
		}
		r := e.appRequest("alice", a, a.token, map[string]any{"method": "HEAD", "path": "/echo/h"})
		mustStatus(t, r, http.StatusOK)
		if r.body["status_code"] != 200.0 || r.body["body"] != "" {
			t.Fatalf("HEAD: %s", r.raw)
		}
	})

	t.Run("QueryHeadersAndPathQuery", func(t *testing.T) {
		echo := echoOf(t, e.appRequest("alice", a, a.token, map[string]any{
			"method": "GET", "path": "/echo/q?z=0",
			"query":   map[string][]string{"x": {"1", "2"}, "y": {"a b&c"}},
			"headers": map[string]string{"X-Custom": "1", "Cookie": "app=1", "X-Real-IP": "6.6.6.6", "X-Forwarded-For": "6.6.6.6", "Forwarded": "for=6.6.6.6"},
		}))
		q := echo["query"].(map[string]any)
		if xs, _ := q["x"].([]any); len(xs) != 2 || xs[0] != "1" || xs[1] != "2" || q["y"] != "a b&c" || q["z"] != "0" {
			t.Fatalf("query: %v", q)
		}
		h := echo["headers"].(map[string]any)
		// The client's address comes from its connection, not from what it claims.
		if h["x-custom"] != "1" || h["authorization"] != nil || h["x-preview-token"] != nil ||
			h["x-real-ip"] != "127.0.0.1" || h["x-forwarded-for"] != "127.0.0.1" || h["forwarded"] != nil {
			t.Fatalf("headers: %v", h)
		}
		if echo["cookies"].(map[string]any)["app"] != "1" {
			t.Fatalf("cookies: %v", echo["cookies"])
		}
	})

	t.Run("BinaryBodies", func(t *testing.T) {
		raw := make([]byte, 256)
		for i := range raw {
			raw[i] = byte(i)
		}
		enc := base64.StdEncoding.EncodeToString(raw)
		echo := echoOf(t, e.appRequest("alice", a, a.token, map[string]any{
			"method": "POST", "path": "/echo/bin", "body": enc, "body_encoding": "base64",
			"headers": map[string]string{"Content-Type": "application/octet-stream"},
		}))
		if echo["body_base64"] != enc || echo["body_length"] != 256.0 {
			t.Fatalf("binary upload: %v", echo)
		}
		r := e.appRequest("alice", a, a.token, map[string]any{"method": "GET", "path": "/binary"})
		mustStatus(t, r, http.StatusOK)
		if r.body["body_encoding"] != "base64" || r.body["body"] != enc || r.body["truncated"] != false {
			t.Fatalf("binary download: %s", r.raw)
		}
	})

	t.Run("AppStatusPassedThrough", func(t *testing.T) {
		for _, code := range []float64{418, 500} {
			r := e.appRequest("alice", a, a.token, map[string]any{"method": "POST", "path": "/status/" + strconv.Itoa(int(code))})
			mustStatus(t, r, http.StatusOK)
			if r.body["status_code"] != code || !strings.HasPrefix(r.body["body"].(string), "status ") {
				t.Fatalf("status %v: %s", code, r.raw)
			}
			if _, ok := r.body["duration_ms"].(float64); !ok {
				t.Fatalf("no duration_ms: %s", r.raw)
			}
		}
		// Redirects are the app's answer, not followed.
		r := e.appRequest("alice", a, a.token, map[string]any{"path": "/redirect"})
		loc, _ := r.body["headers"].(map[string]any)["Location"].([]any)
		if r.body["status_code"] != 302.0 || len(loc) != 1 || loc[0] != "/echo/redirected" {
			t.Fatalf("redirect: %s", r.raw)
		}
	})

	t.Run("Truncated", func(t *testing.T) {
		r := e.appRequest("alice", a, a.token, map[string]any{"path": "/big", "query": map[string][]string{"bytes": {"100000"}}})
		mustStatus(t, r, http.StatusOK)
		if r.body["truncated"] != true || len(r.body["body"].(string)) != 64<<10 {
			t.Fatalf("truncated %v, body length %d", r.body["truncated"], len(r.body["body"].(string)))
		}
		r = e.appRequest("alice", a, a.token, map[string]any{"path": "/big", "query": map[string][]string{"bytes": {"1000"}}})
		if r.body["truncated"] != false || len(r.body["body"].(string)) != 1000 {
			t.Fatalf("small body: truncated %v", r.body["truncated"])
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		start := time.Now()
		r := e.appRequest("alice", a, a.token, map[string]any{"path": "/slow", "query": map[string][]string{"ms": {"5000"}}})
		mustStatus(t, r, http.StatusGatewayTimeout)
		if r.errorCode() != "upstream_timeout" || time.Since(start) > 4*time.Second {
			t.Fatalf("timeout after %v: %s", time.Since(start), r.raw)
		}
	})

	t.Run("ConnectionReset", func(t *testing.T) {
		r := e.appRequest("alice", a, a.token, map[string]any{"path": "/reset"})
		mustStatus(t, r, http.StatusBadGateway)
		if r.errorCode() != "upstream_error" {
			t.Fatalf("reset: %s", r.raw)
		}
	})

	t.Run("InvalidRequests", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"method": "GE T", "path": "/"},
			{"method": "CONNECT", "path": "/"},
			{"path": "echo"},
			{"path": "/a b"},
			{"path": "/", "headers": map[string]string{"X-A": "1\r\nX-Injected: 1"}},
			{"path": "/", "headers": map[string]string{"Bad Name": "1"}},
			{"path": "/", "body_encoding": "utf-16"},
			{"path": "/", "body": "%%%", "body_encoding": "base64"},
			{"path": "/", "unknown": 1},
		} {
			r := e.appRequest("alice", a, a.token, body)
			if r.status != http.StatusBadRequest || r.errorCode() != "invalid_request" {
				t.Fatalf("%v: %d %s", body, r.status, r.raw)
			}
		}
	})

	t.Run("BadToken", func(t *testing.T) {
		for _, tok := range []string{"", "not-a-token", b.token} {
			r := e.appRequest("alice", a, tok, map[string]any{"path": "/echo"})
			if r.status != http.StatusUnauthorized || r.errorCode() != "unauthorized" {
				t.Fatalf("token %q: %d %s", tok, r.status, r.raw)
			}
		}
		// Another user's generation is not found, whatever the token.
		mustStatus(t, e.appRequest("bob", a, a.token, map[string]any{"path": "/echo"}), http.StatusNotFound)
	})

	t.Run("StoppedPreview", func(t *testing.T) {
		mustStatus(t, e.call("DELETE", "/api/v1/generations/"+a.gen+"/preview", "alice", "", nil), http.StatusOK)
		r := e.appRequest("alice", a, a.token, map[string]any{"path": "/echo"})
		if r.status != http.StatusConflict || r.errorCode() != "preview_not_running" {
			t.Fatalf("stopped: %d %s", r.status, r.raw)
		}
	})
}
