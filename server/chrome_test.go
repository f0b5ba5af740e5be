package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// artifactDir is where the browser tests leave their screenshots, relative to
// the repository root (gitignored).
const artifactDir = "test-artifacts"

// newChrome starts a headless Chromium for t and returns a context for its
// first tab. Without Chromium the test is skipped, except in CI, where that
// is a failure.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no chromium for the browser tests (apt-get install chromium): %v", err)
		}
		t.Skipf("no chromium for the browser tests (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root, where Chrome's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(1100, 800),
		// Chromium resolves *.localhost to loopback itself; the rule keeps
		// that true whatever the machine's resolver says.
		chromedp.Flag("host-resolver-rules", "MAP *."+publicDomain+" 127.0.0.1"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// within runs actions with a deadline, on a context that has run once.
func within[T any](t *testing.T, ctx context.Context, d time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot saves the tab's viewport as test-artifacts/<name>.png.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := within(t, ctx, 10*time.Second, "screenshot "+name, chromedp.CaptureScreenshot())
	dir := filepath.Join("..", artifactDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", filepath.Join(artifactDir, name+".png"))
}

// frontDoor is previewd as a browser reaches it: the env's API handler on a
// port fixed for the whole test, as previewd listens on PREVIEW_LISTEN_ADDR,
// so proxy_url (which names that port) works and a restarted previewd comes
// back at the same address. It also serves the test's own pages under
// /browser-test/ on the API's origin.
type frontDoor struct {
	e     *env
	port  int
	pages map[string]string // path → HTML
	srv   *http.Server
}

// listenFixed reserves a loopback port for a front door; pass it to newEnv
// with withPublicPort.
func listenFixed(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func portOf(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

// withPublicPort makes proxy_url name port, with host routing on.
func withPublicPort(port int) envOption {
	return func(_ *sandboxConfig, sc *serverConfig) {
		sc.PublicDomain = publicDomain
		sc.PublicPort = port
	}
}

// openFrontDoor serves the env's current previewd on l.
func openFrontDoor(e *env, l net.Listener, pages map[string]string) *frontDoor {
	f := &frontDoor{e: e, port: portOf(l), pages: pages}
	f.serve(l)
	e.t.Cleanup(f.close)
	return f
}

func (f *frontDoor) serve(l net.Listener) {
	api := f.e.api.Config.Handler
	f.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if html, ok := f.pages[r.URL.Path]; ok && !strings.Contains(r.Host, "."+publicDomain) {
				// The API origin leaves a cookie of its own in the browser,
				// one that a script on this origin could read.
				http.SetCookie(w, &http.Cookie{Name: "api_origin_cookie", Value: "from-api-response", Path: "/"})
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("Cache-Control", "no-store")
				w.Write([]byte(html))
				return
			}
			api.ServeHTTP(w, r)
		}),
	}
	go f.srv.Serve(l) // ends when close closes the listener
}

// close drops the listener and every connection, as previewd's exit would.
func (f *frontDoor) close() {
	if f.srv != nil {
		f.srv.Close()
		f.srv = nil
	}
}

// restart stops previewd (front door first, then the env's manager), starts
// a new one on the same store, and serves it again on the same port.
func (f *frontDoor) restart(t *testing.T) {
	t.Helper()
	f.close()
	f.e.stop()
	f.e.start()
	var l net.Listener
	var err error
	for range 50 { // the port may linger for a moment after the close
		if l, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(f.port)); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen again on %d: %v", f.port, err)
	}
	f.serve(l)
}

// url is the address of path on the API's origin: localhost, as a frontend
// in development, and another site than <id>.preview.localhost.
func (f *frontDoor) url(path string) string {
	return "http://localhost:" + strconv.Itoa(f.port) + path
}
