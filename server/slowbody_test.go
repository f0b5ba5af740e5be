package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowBody opens a connection, sends the head of a request announcing a body
// of 10 000 bytes, and then trickles the body a byte every 200 ms; it returns
// how long the server kept the connection and the status it answered, if any.
func slowBody(t *testing.T, addr, head string) (time.Duration, string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head+"Content-Length: 10000\r\n\r\n"); err != nil {
		t.Error(err)
		return 0, ""
	}
	status := make(chan string, 1)
	go func() {
		// Reads until the server closes the connection: the status line if
		// it answered, then whatever, then EOF or a reset.
		line, _ := bufio.NewReader(conn).ReadString('\n')
		io.Copy(io.Discard, conn)
		status <- strings.TrimSpace(line)
	}()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case s := <-status:
			return time.Since(start), s
		case <-tick.C:
			if time.Since(start) > 30*time.Second {
				return time.Since(start), "still open"
			}
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := conn.Write([]byte("x")); err != nil {
				return time.Since(start), <-status
			}
		}
	}
}

// TestSlowBodiesAreCut: clients that trickle a request body, to the API with
// and without a token and through the browser proxy, are cut off once the
// body falls behind the floor (here 1 s of grace, then 1000 bytes a second),
// while other clients are served meanwhile.
func TestSlowBodiesAreCut(t *testing.T) {
	requireInfra(t, true)
	const grace = time.Second
	e := newEnv(t, withProxy, func(_ *sandboxConfig, s *serverConfig) {
		s.BodyGrace, s.BodyMinRate = grace, 1000
	})
	p := e.launchEcho("alice", "A")
	br := newBrowser(e)
	cookie := br.sessionCookie(t, p)
	addr := strings.TrimPrefix(e.api.URL, "http://")

	heads := map[string]string{
		"api without token": "POST /api/v1/generations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
		"api with token": "POST /api/v1/generations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Authorization: Bearer " + token(t, "alice") + "\r\n",
		"proxy": "POST /echo HTTP/1.1\r\nHost: " + p.host() + "\r\nCookie: " + cookie.Name + "=" + cookie.Value + "\r\n",
	}
	const perKind = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string][]string{}
	for kind, head := range heads {
		for range perKind {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, status := slowBody(t, addr, head)
				mu.Lock()
				defer mu.Unlock()
				results[kind] = append(results[kind], fmt.Sprintf("%.1fs %q", d.Seconds(), status))
				if d > grace+3*time.Second {
					t.Errorf("%s: the slow body kept its connection for %v", kind, d)
				}
			}()
		}
	}

	// Meanwhile a normal client is served, on the API and through the proxy.
	time.Sleep(grace / 2)
	r := e.call("GET", "/api/v1/generations", "alice", "", nil)
	mustStatus(t, r, http.StatusOK)
	resp, raw := br.send("POST", p.host(), "/echo", withCookie(cookie), strings.NewReader(strings.Repeat("y", 100_000)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a normal upload through the proxy: %d %s", resp.StatusCode, raw)
	}
	wg.Wait()
	t.Logf("slow bodies: %v", results)
	for _, kind := range []string{"api with token", "proxy"} {
		for _, s := range results[kind] {
			if !strings.Contains(s, "408") {
				t.Errorf("%s: a slow body was answered %s, want 408", kind, s)
			}
		}
	}
}
