package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/previewd/previewd/sandbox"
)

// browser sends requests to the test API server as a browser would send them
// to a preview's host (host routing) or under /p/<id>/ (path routing).
type browser struct {
	e      *env
	client *http.Client
}

func newBrowser(e *env) *browser {
	return &browser{e: e, client: &http.Client{
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get sends method to host (empty: the API's own) and path, with extra
// headers, and returns the response with its body read.
func (b *browser) send(method, host, path string, header http.Header, body io.Reader) (*http.Response, []byte) {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.e.api.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// sessionCookie returns the previewd cookie of p, after trading its token.
func (b *browser) sessionCookie(t *testing.T, p preview) *http.Cookie {
	t.Helper()
	resp, raw := b.send("GET", p.host(), "/echo/in?a=1&token="+p.token+"&b=2", nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("token request: %d %s", resp.StatusCode, raw)
	}
	if loc := resp.Header.Get("Location"); loc != "/echo/in?a=1&b=2" {
		t.Fatalf("Location %q, want %q", loc, "/echo/in?a=1&b=2")
	}
	for _, c := range resp.Cookies() {
		if c.Name == "previewd_session_"+p.id[:8] {
			// Test hosts are localhost ones, which browsers treat as secure:
			// the cookie is set so that a cross-site iframe keeps it.
			if !c.HttpOnly || c.SameSite != http.SameSiteNoneMode || !c.Secure || !c.Partitioned || c.Path != "/" || c.Value != p.token {
				t.Fatalf("session cookie: %+v", c)
			}
			return c
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
	return nil
}

// sessionPath trades p's token under path routing and returns the session's
// address prefix, /p/<id>/~<token>. No cookie is set: a sandboxed page could
// not send it, and it would belong to previewd's own origin.
func (b *browser) sessionPath(t *testing.T, p preview) string {
	t.Helper()
	resp, raw := b.send("GET", "", "/p/"+p.id+"/echo/in?a=1&token="+p.token+"&b=2", nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("path-routed token request: %d %s", resp.StatusCode, raw)
	}
	prefix := "/p/" + p.id + "/~" + p.token
	if loc := resp.Header.Get("Location"); loc != prefix+"/echo/in?a=1&b=2" {
		t.Fatalf("Location %q, want %q", loc, prefix+"/echo/in?a=1&b=2")
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("path-routed token request set cookies: %q", sc)
	}
	return prefix
}

func withCookie(c *http.Cookie, more ...string) http.Header {
	return http.Header{"Cookie": {strings.Join(append([]string{c.Name + "=" + c.Value}, more...), "; ")}}
}

func decodeEcho(t *testing.T, resp *http.Response, raw []byte) map[string]any {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("echo: %d %s", resp.StatusCode, raw)
	}
	var echo map[string]any
	if err := json.Unmarshal(raw, &echo); err != nil {
		t.Fatalf("echo: %v in %s", err, raw)
	}
	return echo
}

// seen asks the app how many requests reached it.
func (b *browser) seen(t *testing.T, p preview, c *http.Cookie) float64 {
	t.Helper()
	resp, raw := b.send("GET", p.host(), "/count", withCookie(c), nil)
	return decodeEcho(t, resp, raw)["seen"].(float64)
}

// TestProxy covers the browser proxy: routing, the cookie flow, what reaches
// the app, cookies and redirects the app sends, streams, WebSocket, and
// requests that try to reach another preview.
func TestProxy(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withProxy)
	a := e.launchEcho("alice", "A")
	b := e.launchEcho("alice", "B")
	br := newBrowser(e)

	if a.proxyURL != "http://"+a.host()+":8080/" {
		t.Fatalf("proxy_url %q", a.proxyURL)
	}
	r := e.call("GET", "/api/v1/generations/"+a.gen+"/preview/status", "alice", "", nil)
	if r.body["proxy_url"] != a.proxyURL {
		t.Fatalf("status proxy_url: %s", r.raw)
	}
	ca := br.sessionCookie(t, a)
	cb := br.sessionCookie(t, b)

	t.Run("HostRoutingStripsHeaders", func(t *testing.T) {
		h := withCookie(ca, "app=1", "other=2")
		h.Set("Authorization", "Bearer secret")
		h.Set("X-Preview-Token", a.token)
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "1")
		h.Set("X-Forwarded-Host", b.host())
		h.Set("X-Forwarded-For", "6.6.6.6")
		h.Set("X-Real-IP", "6.6.6.6")
		resp, raw := br.send("GET", a.host(), "/echo/in?a=1", h, nil)
		echo := decodeEcho(t, resp, raw)
		hd := echo["headers"].(map[string]any)
		if echo["name"] != "A" || echo["path"] != "/echo/in" || echo["url"] != "/echo/in?a=1" {
			t.Fatalf("echo: %v", echo)
		}
		for _, name := range []string{"authorization", "x-preview-token", "x-hop"} {
			if hd[name] != nil {
				t.Fatalf("%s reached the app: %v", name, hd)
			}
		}
		if hd["x-forwarded-host"] != a.host() || hd["x-forwarded-proto"] != "http" || hd["x-forwarded-for"] != "127.0.0.1" || hd["x-real-ip"] != "127.0.0.1" || hd["host"] != a.host() {
			t.Fatalf("forwarding headers: %v", hd)
		}
		cookies := echo["cookies"].(map[string]any)
		if len(cookies) != 2 || cookies["app"] != "1" || cookies["other"] != "2" {
			t.Fatalf("cookies reaching the app: %v", cookies)
		}
	})

	t.Run("NoOrBadSession", func(t *testing.T) {
		before := br.seen(t, a, ca)
		resp, _ := br.send("GET", a.host(), "/echo", nil, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("no cookie: %d", resp.StatusCode)
		}
		resp, _ = br.send("GET", a.host(), "/echo?token=nope", nil, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad token: %d", resp.StatusCode)
		}
		resp, _ = br.send("GET", a.host(), "/echo", http.Header{"Cookie": {ca.Name + "=nope"}}, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad cookie: %d", resp.StatusCode)
		}
		if n := br.seen(t, a, ca); n != before+1 {
			t.Fatalf("the app saw %v requests, want %v", n, before+1)
		}
	})

	t.Run("OtherPreviewTokenForbidden", func(t *testing.T) {
		before := br.seen(t, a, ca)
		resp, _ := br.send("GET", a.host(), "/echo?token="+b.token, nil, nil)
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Fatalf("B's token on A: %d %v", resp.StatusCode, resp.Header)
		}
		// B's token in A's cookie, and in a path-routed request.
		resp, _ = br.send("POST", a.host(), "/echo", http.Header{"Cookie": {ca.Name + "=" + b.token}}, strings.NewReader("x"))
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("B's token in A's cookie: %d", resp.StatusCode)
		}
		resp, _ = br.send("GET", "", "/p/"+a.id+"/echo?token="+b.token, nil, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("B's token on /p/A: %d", resp.StatusCode)
		}
		if n := br.seen(t, a, ca); n != before+1 {
			t.Fatalf("the app saw %v requests, want %v: something reached A", n, before+1)
		}
	})

	t.Run("TokenRedirectStaysOnHost", func(t *testing.T) {
		// A path that a browser would read as another host (//evil.example/,
		// and /\evil.example/, which browsers treat alike) comes back on the
		// preview's host with the same path.
		base, _ := url.Parse("http://" + a.host() + "/")
		for _, path := range []string{"//evil.example/", "/\\evil.example/", "///evil.example/x"} {
			resp := rawResponse(t, e, "GET "+path+"?token="+a.token+"&q=1 HTTP/1.1\r\nHost: "+a.host()+"\r\n\r\n")
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || loc == "" {
				t.Fatalf("GET %s?token=: %d %q", path, resp.StatusCode, loc)
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatalf("GET %s?token=: Location %q: %v", path, loc, err)
			}
			to := base.ResolveReference(u)
			if to.Host != a.host() || to.RawQuery != "q=1" || !strings.Contains(to.EscapedPath(), "evil.example") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Fatalf("GET %s?token=: Location %q leads to %s", path, loc, to)
			}
		}
		resp := rawResponse(t, e, "GET //evil.example/?token="+a.token+" HTTP/1.1\r\nHost: "+a.host()+"\r\n\r\n")
		if loc := resp.Header.Get("Location"); loc != "/.//evil.example/" {
			t.Fatalf("Location %q, want /.//evil.example/ (the same path on this host)", loc)
		}
	})

	t.Run("SpoofedHostCannotReachAnotherPreview", func(t *testing.T) {
		beforeA, beforeB := br.seen(t, a, ca), br.seen(t, b, cb)
		// X-Forwarded-Host does not route.
		h := withCookie(ca)
		h.Set("X-Forwarded-Host", b.host())
		resp, raw := br.send("GET", a.host(), "/echo", h, nil)
		if echo := decodeEcho(t, resp, raw); echo["name"] != "A" {
			t.Fatalf("X-Forwarded-Host reached %v", echo["name"])
		}
		// An absolute URI naming B, with A's session: B refuses it.
		status := rawRequest(t, e, "GET http://"+b.host()+"/echo HTTP/1.1\r\nHost: "+a.host()+"\r\nCookie: "+ca.Name+"="+ca.Value+"\r\n\r\n")
		if status != http.StatusUnauthorized {
			t.Fatalf("absolute URI to B with A's cookie: %d", status)
		}
		status = rawRequest(t, e, "GET http://"+b.host()+"/echo HTTP/1.1\r\nHost: "+a.host()+"\r\nCookie: "+cb.Name+"="+ca.Value+"\r\n\r\n")
		if status != http.StatusForbidden {
			t.Fatalf("absolute URI to B with A's token in B's cookie: %d", status)
		}
		// An absolute URI naming a preview's host port is the API's, not a preview.
		u, _ := url.Parse(e.api.URL)
		status = rawRequest(t, e, "GET http://127.0.0.1:"+fmt.Sprint(e.portStart)+"/echo HTTP/1.1\r\nHost: "+a.host()+"\r\nCookie: "+ca.Name+"="+ca.Value+"\r\n\r\n")
		if status != http.StatusNotFound {
			t.Fatalf("absolute URI to a host port (API at %s): %d", u.Host, status)
		}
		if nA, nB := br.seen(t, a, ca), br.seen(t, b, cb); nA != beforeA+2 || nB != beforeB+1 {
			t.Fatalf("A saw %v (want %v), B saw %v (want %v)", nA, beforeA+2, nB, beforeB+1)
		}
	})

	t.Run("PathRouting", func(t *testing.T) {
		sp := br.sessionPath(t, a)
		resp, raw := br.send("GET", "", sp+"/echo/in?a=1", http.Header{"Cookie": {"app=1"}}, nil)
		echo := decodeEcho(t, resp, raw)
		if echo["name"] != "A" || echo["url"] != "/echo/in?a=1" || len(echo["cookies"].(map[string]any)) != 1 {
			t.Fatalf("path-routed echo: %v", echo)
		}
		// The app runs sandboxed, with an opaque origin, whatever policy it sends.
		if csp := resp.Header.Values("Content-Security-Policy"); len(csp) != 1 || !strings.HasPrefix(csp[0], "sandbox ") || strings.Contains(csp[0], "allow-same-origin") {
			t.Fatalf("path-routed Content-Security-Policy: %q", csp)
		}
		// An app's own policy stays, and the sandbox is enforced beside it.
		resp, _ = br.send("GET", "", sp+"/csp", nil, nil)
		if csp := resp.Header.Values("Content-Security-Policy"); len(csp) != 2 || !strings.HasPrefix(csp[0], "sandbox ") || csp[1] != "default-src 'self'" {
			t.Fatalf("path-routed Content-Security-Policy beside the app's: %q", csp)
		}
		resp, _ = br.send("GET", "", sp+"/redirect", nil, nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != sp+"/echo/redirected" {
			t.Fatalf("path-routed redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = br.send("GET", "", "/p/"+a.id, nil, nil)
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/p/"+a.id+"/" {
			t.Fatalf("/p/<id> without slash: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = br.send("GET", "", sp, nil, nil)
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != sp+"/" {
			t.Fatalf("/p/<id>/~<token> without slash: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// No app cookie lands on previewd's origin: not a Domain one, not
		// even one with Path=/.
		for _, path := range []string{"/evil-cookie", "/set-cookie"} {
			resp, _ = br.send("GET", "", sp+path, nil, nil)
			if sc := resp.Header.Values("Set-Cookie"); resp.StatusCode != http.StatusOK || len(sc) != 0 {
				t.Fatalf("path-routed %s: %d, Set-Cookie %q", path, resp.StatusCode, sc)
			}
		}
		// Without the session in the address, or with another preview's: refused.
		for path, want := range map[string]int{
			"/p/" + a.id + "/echo":              http.StatusUnauthorized,
			"/p/" + a.id + "/~nope/echo":        http.StatusUnauthorized,
			"/p/" + a.id + "/~" + b.token + "/": http.StatusForbidden,
		} {
			resp, _ = br.send("GET", "", path, nil, nil)
			if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "sandbox ") {
				t.Fatalf("%s: %d (want %d), Content-Security-Policy %q", path, resp.StatusCode, want, resp.Header.Get("Content-Security-Policy"))
			}
		}
		// The page's opaque origin ("null") may read its own answers and
		// send them what its scripts send, credentials never.
		resp, _ = br.send("GET", "", sp+"/echo", http.Header{"Origin": {"null"}}, nil)
		if resp.Header.Get("Access-Control-Allow-Origin") != "null" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("CORS for the page's own origin: %v", resp.Header)
		}
		before := br.seen(t, a, ca)
		resp, _ = br.send("OPTIONS", "", sp+"/echo", http.Header{"Origin": {"null"},
			"Access-Control-Request-Method": {"PUT"}, "Access-Control-Request-Headers": {"content-type"}}, nil)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "null" ||
			resp.Header.Get("Access-Control-Allow-Methods") != "PUT" || resp.Header.Get("Access-Control-Allow-Headers") != "content-type" {
			t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
		if n := br.seen(t, a, ca); n != before+1 {
			t.Fatalf("the preflight reached the app (seen %v, want %v)", n, before+1)
		}
		resp, _ = br.send("OPTIONS", "", "/p/"+a.id+"/~nope/echo", http.Header{"Origin": {"null"}, "Access-Control-Request-Method": {"PUT"}}, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("preflight without a session: %d", resp.StatusCode)
		}
	})

	t.Run("AppCookiesAndRedirects", func(t *testing.T) {
		resp, _ := br.send("GET", a.host(), "/set-cookie", withCookie(ca), nil)
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 1 || !strings.HasPrefix(sc[0], "app_cookie=yummy") {
			t.Fatalf("app's own cookie: %q", sc)
		}
		resp, _ = br.send("GET", a.host(), "/evil-cookie", withCookie(ca), nil)
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 1 || !strings.HasPrefix(sc[0], "good=1") {
			t.Fatalf("Domain=preview.localhost cookie not dropped: %q", sc)
		}
		resp, _ = br.send("GET", a.host(), "/redirect", withCookie(ca), nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/echo/redirected" {
			t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("BodiesBothWays", func(t *testing.T) {
		payload := bytes.Repeat([]byte{0, 1, 2, 255}, 1<<18) // 1 MiB
		h := withCookie(ca)
		h.Set("Content-Type", "application/octet-stream")
		resp, raw := br.send("PUT", a.host(), "/echo/up", h, bytes.NewReader(payload))
		if echo := decodeEcho(t, resp, raw); echo["body_length"] != float64(len(payload)) || echo["method"] != "PUT" {
			t.Fatalf("upload: %v", echo["body_length"])
		}
		resp, raw = br.send("GET", a.host(), "/binary", withCookie(ca), nil)
		if resp.StatusCode != 200 || len(raw) != 256 || raw[255] != 255 {
			t.Fatalf("binary: %d %d bytes", resp.StatusCode, len(raw))
		}
		resp, raw = br.send("GET", a.host(), "/stream", withCookie(ca), nil)
		if resp.StatusCode != 200 || strings.Count(string(raw), "line ") != 5 {
			t.Fatalf("stream: %d %q", resp.StatusCode, raw)
		}
		// The browser proxy streams: no cut at the /request cap.
		resp, raw = br.send("GET", a.host(), "/big?bytes=200000", withCookie(ca), nil)
		if resp.StatusCode != 200 || len(raw) != 200000 {
			t.Fatalf("big: %d %d bytes", resp.StatusCode, len(raw))
		}
		resp, _ = br.send("POST", a.host(), "/echo/huge", h, io.LimitReader(zeros{}, 20<<20+1))
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized upload: %d", resp.StatusCode)
		}
	})

	t.Run("ServerSentEvents", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.api.URL+"/events", nil)
		req.Host = a.host()
		req.Header = withCookie(ca)
		start := time.Now()
		resp, err := br.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
		rd := bufio.NewReader(resp.Body)
		first := readEvent(t, rd)
		firstAt := time.Since(start)
		last := readEvent(t, rd)
		lastAt := time.Since(start)
		if !strings.Contains(first, "data: first") || !strings.Contains(last, "data: last") {
			t.Fatalf("events %q %q", first, last)
		}
		// The app waits 1.5 s between them: a buffering proxy delivers both together.
		if lastAt-firstAt < time.Second {
			t.Fatalf("first event at %v, last at %v: not streamed", firstAt, lastAt)
		}
	})

	t.Run("WebSocket", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.api.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		cfg, err := websocket.NewConfig("ws://"+a.host()+"/ws", "http://"+a.host())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Header.Set("Cookie", ca.Name+"="+ca.Value)
		ws, err := websocket.NewClient(cfg, conn)
		if err != nil {
			t.Fatalf("WebSocket handshake through the proxy: %v", err)
		}
		for _, msg := range []string{"hello", "again"} {
			if err := websocket.Message.Send(ws, msg); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := websocket.Message.Receive(ws, &got); err != nil {
				t.Fatal(err)
			}
			if got != "echo: "+msg {
				t.Fatalf("WebSocket echo %q", got)
			}
		}
		// Without a session the upgrade never reaches the app.
		conn2, err := net.Dial("tcp", strings.TrimPrefix(e.api.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn2.Close()
		cfg.Header = http.Header{}
		if _, err := websocket.NewClient(cfg, conn2); err == nil {
			t.Fatal("WebSocket without a session was accepted")
		}
	})

	t.Run("TouchThrottled", func(t *testing.T) {
		// A new session of B: its first proxied request is recorded, more
		// traffic within 5 s is not.
		r := e.launch("alice", b.gen, nil)
		mustStatus(t, r, http.StatusOK)
		b2 := b
		b2.token = r.body["session_token"].(string)
		cb := br.sessionCookie(t, b2)
		lastActive := func() (time.Time, time.Time) {
			var at, exp time.Time
			row := e.sql.QueryRow(`SELECT p.last_active_at, s.expires_at FROM previews p JOIN preview_sessions s ON s.preview_id = p.id
				WHERE p.id = $1 AND s.token_hash = $2`, b.id, sandbox.HashToken(b2.token))
			if err := row.Scan(&at, &exp); err != nil {
				t.Fatal(err)
			}
			return at, exp
		}
		before, _ := lastActive()
		br.send("GET", b.host(), "/echo", withCookie(cb), nil)
		active1, expires1 := lastActive()
		if !active1.After(before) {
			t.Fatalf("first proxied request did not touch: %v→%v", before, active1)
		}
		br.send("GET", b.host(), "/echo", withCookie(cb), nil)
		if at, exp := lastActive(); !at.Equal(active1) || !exp.Equal(expires1) {
			t.Fatalf("touched again within the throttle: %v→%v", active1, at)
		}
		// /status does not touch.
		time.Sleep(5100 * time.Millisecond)
		e.call("GET", "/api/v1/generations/"+b.gen+"/preview/status", "alice", "", nil)
		if at, _ := lastActive(); !at.Equal(active1) {
			t.Fatal("status touched the preview")
		}
		br.send("GET", b.host(), "/echo", withCookie(cb), nil)
		if at, exp := lastActive(); !at.After(active1) || !exp.After(expires1) {
			t.Fatalf("proxied request after the throttle did not touch: %v→%v, %v→%v", active1, at, expires1, exp)
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		_, raw := br.send("GET", "", "/metrics", nil, nil)
		for _, want := range []string{`preview_proxy_requests_total{code="200"}`, `preview_proxy_requests_total{code="403"}`, "preview_proxy_request_duration_seconds_count"} {
			if !strings.Contains(string(raw), want) {
				t.Fatalf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("StoppedPreview", func(t *testing.T) {
		// A session the proxy checked moments ago is not trusted once the preview stops.
		if resp, raw := br.send("GET", a.host(), "/echo", withCookie(ca), nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("before stop: %d %s", resp.StatusCode, raw)
		}
		mustStatus(t, e.call("DELETE", "/api/v1/generations/"+a.gen+"/preview", "alice", "", nil), http.StatusOK)
		resp, _ := br.send("GET", a.host(), "/echo", withCookie(ca), nil)
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("stopped preview: %d", resp.StatusCode)
		}
	})
}

// rawRequest writes a request as given to the API server and returns the
// answer's status.
func rawRequest(t *testing.T, e *env, req string) int {
	t.Helper()
	return rawResponse(t, e, req).StatusCode
}

// rawResponse sends req as written, byte for byte, and returns the response
// with its body closed.
func rawResponse(t *testing.T, e *env, req string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.api.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// readEvent reads one server-sent event.
func readEvent(t *testing.T, rd *bufio.Reader) string {
	t.Helper()
	var ev strings.Builder
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading events: %v after %q", err, ev.String())
		}
		if line == "\n" {
			return ev.String()
		}
		ev.WriteString(line)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestProxyPortReused: previewd's proxy keeps connections to a preview's app
// open between requests; once the preview stops and another takes its port,
// both proxies reach the new app, never the old one's connections.
func TestProxyPortReused(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withProxy, func(c *sandboxConfig, _ *serverConfig) { c.MaxPreviews = 1 })
	br := newBrowser(e)
	check := func(p preview, name string) {
		t.Helper()
		for range 3 {
			if echo := echoOf(t, e.appRequest("alice", p, p.token, map[string]any{"method": "GET", "path": "/echo"})); echo["name"] != name {
				t.Fatalf("POST /request reached %v, want %s", echo["name"], name)
			}
			cookie := br.sessionCookie(t, p)
			resp, raw := br.send("GET", p.host(), "/echo", withCookie(cookie), nil)
			if echo := decodeEcho(t, resp, raw); echo["name"] != name {
				t.Fatalf("the browser proxy reached %v, want %s", echo["name"], name)
			}
		}
	}
	a := e.launchEcho("alice", "A")
	check(a, "A")
	pa := e.call("GET", "/api/v1/generations/"+a.gen+"/preview/status", "alice", "", nil).body["port"]
	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+a.gen+"/preview", "alice", "", nil), http.StatusOK)
	b := e.launchEcho("alice", "B")
	pb := e.call("GET", "/api/v1/generations/"+b.gen+"/preview/status", "alice", "", nil).body["port"]
	if pa != pb {
		t.Fatalf("the second preview has port %v, the first had %v: the test needs the same", pb, pa)
	}
	check(b, "B")
}
