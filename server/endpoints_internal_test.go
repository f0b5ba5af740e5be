package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/sandbox/endpoints"
)

// dialSandbox is a Sandbox whose previews' apps are reached at addr. Only
// what fetchOpenAPI uses is implemented.
type dialSandbox struct {
	Sandbox
	addr  string
	ports []int // ports DialApp was asked for
}

func (d *dialSandbox) DialApp(ctx context.Context, port int) (net.Conn, error) {
	d.ports = append(d.ports, port)
	var dialer net.Dialer
	return dialer.DialContext(ctx, "tcp", d.addr)
}

func (d *dialSandbox) Config() sandbox.Config { return sandbox.Config{Host: "127.0.0.1"} }

// TestFetchOpenAPIStaysOnItsPreview: the app chooses what /openapi.json
// answers. A redirect to another address (another user's preview, a
// service on the host) is not followed, and the request goes to the
// preview's own socket whatever host the URL names.
func TestFetchOpenAPIStaysOnItsPreview(t *testing.T) {
	var victimHits atomic.Int32
	victim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		victimHits.Add(1)
		io.WriteString(w, `{"paths": {"/victim-secret": {"get": {}}}}`)
	}))
	defer victim.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/openapi.json":
			http.Redirect(w, r, victim.URL+"/openapi.json", http.StatusFound)
		}
	}))
	defer app.Close()
	sb := &dialSandbox{addr: app.Listener.Addr().String()}
	s := &Server{sandbox: sb, log: slog.New(slog.DiscardHandler)}

	doc, err := s.fetchOpenAPI(context.Background(), db.Preview{Port: 3007})
	if err == nil || victimHits.Load() != 0 {
		t.Fatalf("redirect: doc %q, err %v, %d requests reached the redirect's target", doc, err, victimHits.Load())
	}
	if len(sb.ports) != 1 || sb.ports[0] != 3007 {
		t.Fatalf("DialApp asked for ports %v, want [3007]", sb.ports)
	}
}

// TestFetchOpenAPIBounds: a document over maxOpenAPIBytes is not read
// whole, and an app that never answers costs openAPITimeout.
func TestFetchOpenAPIBounds(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"paths": {}, "x": "`+strings.Repeat("x", maxOpenAPIBytes)+`"}`)
	}))
	defer big.Close()
	s := &Server{sandbox: &dialSandbox{addr: big.Listener.Addr().String()}}
	if doc, err := s.fetchOpenAPI(context.Background(), db.Preview{Port: 3007}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("%d-byte document: %d bytes, err %v", maxOpenAPIBytes+24, len(doc), err)
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // ends when silent is closed
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s = &Server{sandbox: &dialSandbox{addr: silent.Addr().String()}}
	start := time.Now()
	_, err = s.fetchOpenAPI(context.Background(), db.Preview{Port: 3007})
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > openAPITimeout+time.Second {
		t.Fatalf("silent app: err %v after %s, want a deadline after %s", err, took, openAPITimeout)
	}
}

func cacheResult(n int, path string) endpoints.Result {
	eps := make([]endpoints.Endpoint, n)
	for i := range eps {
		eps[i] = endpoints.Endpoint{Method: "GET", Path: path}
	}
	return endpoints.Result{Endpoints: eps}
}

// TestEndpointCacheBytes: the cache holds lists up to its bytes, evicting
// the least recently asked, never keeps a list larger than itself, and
// drops a deleted generation's list.
func TestEndpointCacheBytes(t *testing.T) {
	c := newEndpointCache()
	one := len("g0") + endpoints.Size(cacheResult(10, "/x").Endpoints)
	c.limit = 3*one + one/2
	for _, g := range []string{"g0", "g1", "g2"} {
		c.put(g, cacheResult(10, "/x"))
	}
	c.get("g0") // g1 is now the least recently asked
	c.put("g3", cacheResult(10, "/x"))
	if _, ok := c.get("g1"); ok {
		t.Error("g1 kept past the cache's bytes")
	}
	for _, g := range []string{"g0", "g2", "g3"} {
		if _, ok := c.get(g); !ok {
			t.Errorf("%s evicted", g)
		}
	}
	if n, bytes := c.size(); n != 3 || bytes != 3*one || bytes > c.limit {
		t.Errorf("%d entries, %d bytes; want 3 and %d (limit %d)", n, bytes, 3*one, c.limit)
	}
	c.put("huge", cacheResult(1000, "/x"))
	if _, ok := c.get("huge"); ok {
		t.Error("a list larger than the cache was kept")
	}
	c.forget("g2")
	if _, ok := c.get("g2"); ok {
		t.Error("forgotten list still cached")
	}
	if n, bytes := c.size(); n != 2 || bytes != 2*one {
		t.Errorf("after forget: %d entries, %d bytes; want 2 and %d", n, bytes, 2*one)
	}
}
