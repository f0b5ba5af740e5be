package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/server"
)

// TestConnsPerIPCap: an address holding its cap of connections has the next
// one answered 429 with the error body and closed at once, without reading a
// request; a slot freed by a close is taken by the next connection.
func TestConnsPerIPCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(server.LimitConnsPerIP(ln, 3, reg))
	defer srv.Close()
	addr := ln.Addr().String()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	get := func(c net.Conn) *http.Response {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// Three idle connections, as a slow client would hold them.
	held := []net.Conn{dial(), dial(), dial()}
	for _, c := range held {
		if resp := get(c); resp.StatusCode != http.StatusOK {
			t.Fatalf("within the cap: %d", resp.StatusCode)
		}
	}

	// The fourth is refused before it sends anything.
	c := dial()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("over the cap: %v", err)
	}
	var body struct {
		Error struct{ Code, Message, RequestID string } `json:"error"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("over the cap: %d %q: %v", resp.StatusCode, raw, err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || body.Error.Code != "too_many_requests" ||
		resp.Header.Get("X-Request-ID") == "" {
		t.Fatalf("over the cap: %d %s %v", resp.StatusCode, raw, resp.Header)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the refused connection stayed open")
	}
	if n := counterValue(t, reg, "preview_connections_rejected_total"); n != 1 {
		t.Fatalf("preview_connections_rejected_total %v", n)
	}

	// A closed connection frees its slot.
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dial()
		if resp := get(c); resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's slot was not freed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counterValue is the value of an unlabelled counter in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
