package fake

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/previewd/previewd/sandbox/backend"
)

// Control dials the sandbox's shim, which answers in process, one request
// a connection, while the sandbox runs.
func (b *Backend) Control(h backend.Handle) backend.Dialer {
	return func(ctx context.Context) (net.Conn, error) {
		b.mu.Lock()
		x := b.byPreview(h.PreviewID)
		up := x != nil && x.running
		b.mu.Unlock()
		if !up {
			return nil, errors.New("connection refused: the shim does not run")
		}
		c, s := net.Pipe()
		go b.serveShim(s, h.PreviewID) // ends with the request
		return c, nil
	}
}

func (b *Backend) serveShim(c net.Conn, previewID string) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	w := httptest.NewRecorder()
	b.shim(w, req, previewID)
	w.Result().Write(c)
}

// shim answers the control protocol of cmd/previewshim.
func (b *Backend) shim(w http.ResponseWriter, r *http.Request, previewID string) {
	var body struct {
		Argv []string `json:"argv"`
		Warm bool     `json:"warm"`
	}
	files := 0
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/healthz":
	case r.Method == http.MethodPut && r.URL.Path == "/files":
		tr := tar.NewReader(r.Body)
		for {
			if _, err := tr.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				break
			}
			files++
		}
	case r.Method == http.MethodPost && (r.URL.Path == "/start" || r.URL.Path == "/load"):
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	case r.Method == http.MethodGet && r.URL.Path == "/warm":
	default:
		http.NotFound(w, r)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	x := b.byPreview(previewID)
	if x == nil || !x.running {
		http.Error(w, "the sandbox does not run", http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Path {
	case "/files":
		x.files += files
	case "/start", "/load":
		if body.Warm {
			x.app = "warm"
			return
		}
		b.startApp(x, body.Argv)
	case "/warm":
		if x.app != "warm" {
			http.Error(w, "no preloader", http.StatusConflict)
		}
	}
}

// startApp starts x's app as Apps says; b.mu is held.
func (b *Backend) startApp(x *box, argv []string) {
	app := App{}
	if b.Apps != nil {
		app = b.Apps(argv)
	}
	b.print(x, "stdout", "starting the app")
	switch {
	case app.Exit != nil:
		b.print(x, "stderr", "the app failed")
		b.stop(x, *app.Exit, false)
	case app.Hang:
		x.app = "hanging"
	default:
		x.app = "serving"
	}
}

func (b *Backend) print(x *box, stream, text string) {
	x.logs = append(x.logs, entry{stream: stream, text: text + "\n", at: time.Now()})
	b.notify(x)
}

// Forward serves the app's HTTP on l: 200 and the preview id while it
// serves; a closed connection otherwise.
func (b *Backend) Forward(l *net.TCPListener, h backend.Handle) backend.Forwarder {
	f := &forwarder{l: l}
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.serveApp(w, h.PreviewID)
	})}
	return f
}

// App serves the app's HTTP as Forward does, one request a connection.
func (b *Backend) App(h backend.Handle) backend.Dialer {
	return func(ctx context.Context) (net.Conn, error) {
		c, s := net.Pipe()
		go func() {
			defer s.Close()
			if _, err := http.ReadRequest(bufio.NewReader(s)); err != nil {
				return
			}
			w := httptest.NewRecorder()
			if b.serveApp(w, h.PreviewID) {
				w.Result().Write(s)
			}
		}()
		return c, nil
	}
}

// serveApp answers one request to the app; false when the app does not
// serve and the connection is to be closed.
func (b *Backend) serveApp(w http.ResponseWriter, previewID string) bool {
	b.mu.Lock()
	x := b.byPreview(previewID)
	serving := x != nil && x.running && x.app == "serving"
	b.mu.Unlock()
	if !serving {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
		return false
	}
	io.WriteString(w, previewID)
	return true
}

type forwarder struct {
	l      *net.TCPListener
	srv    *http.Server
	mu     sync.Mutex
	closed bool
}

func (f *forwarder) Serve() { f.srv.Serve(f.l) }

func (f *forwarder) Dial(ctx context.Context) (net.Conn, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, net.ErrClosed
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", f.l.Addr().String())
}

// Switch does nothing: the fake keeps one sandbox a preview.
func (f *forwarder) Switch(backend.Handle) {}

func (f *forwarder) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.srv.Close()
	f.l.Close()
}

// Exit ends the run of the preview's sandbox with code, as a crash does.
func (b *Backend) Exit(previewID string, code int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if x := b.byPreview(previewID); x != nil {
		b.print(x, "stderr", "Traceback (most recent call last):")
		b.stop(x, code, false)
	}
}

// OOM sends an out-of-memory event for the preview's sandbox.
func (b *Backend) OOM(previewID string) {
	b.mu.Lock()
	x := b.byPreview(previewID)
	b.mu.Unlock()
	if x != nil {
		b.oom <- x.id
	}
}

// Print adds a line to the sandbox's output.
func (b *Backend) Print(previewID, stream, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if x := b.byPreview(previewID); x != nil {
		b.print(x, stream, text)
	}
}

// Info is what a test may ask of a sandbox.
type Info struct {
	ID      string
	Spec    backend.Spec
	Caps    backend.Caps // now
	Running bool
	Sealed  bool
	Files   int    // files its shim received
	App     string // "", "warm", "serving" or "hanging"
}

// Sandbox reports the preview's sandbox, if there is one.
func (b *Backend) Sandbox(previewID string) (Info, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	x := b.byPreview(previewID)
	if x == nil {
		return Info{}, false
	}
	return Info{ID: x.id, Spec: x.spec, Caps: x.caps, Running: x.running, Sealed: x.sealed, Files: x.files, App: x.app}, true
}

// Count is how many sandboxes exist now, and were created ever.
func (b *Backend) Count() (now, ever int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.boxes), b.created
}
