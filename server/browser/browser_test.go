package browser

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// newTestBrowser returns a browser, or skips without Chromium (fails in CI).
func newTestBrowser(t *testing.T) *Browser {
	t.Helper()
	path, err := Find("")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no chromium for the browser tests: %v", err)
		}
		t.Skipf("no chromium: %v", err)
	}
	b := New(Options{ExecPath: path, PageTimeout: 20 * time.Second})
	t.Cleanup(b.Close)
	return b
}

const brokenPage = `<!doctype html><title>broken</title>
<h1>hello</h1>
<img src="/missing.png">
<script>
console.error("render failed:", 42);
console.warn("deprecated thing");
console.log("just info");
fetch("/api/items").then(r => r.json());
document.getElementById("nope").textContent = "x";
</script>`

// TestRenderRecordsPageErrors: console errors and warnings (not logs), the
// uncaught exception with its line, the 404 and 500 requests, the secret
// cookie on every request, and a PNG screenshot.
func TestRenderRecordsPageErrors(t *testing.T) {
	b := newTestBrowser(t)
	var noHeader []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("check"); err != nil || c.Value != "s3cret" {
			noHeader = append(noHeader, r.URL.Path)
		}
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(brokenPage))
		case "/api/items":
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	p, err := b.Render(context.Background(), srv.URL+"/", &http.Cookie{Name: "check", Value: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != 200 || p.Title != "broken" || p.Error != "" {
		t.Fatalf("page %+v", p)
	}
	if !bytes.HasPrefix(p.Screenshot, []byte("\x89PNG")) {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(p.Screenshot))
	}
	var levels []string
	for _, m := range p.Console {
		levels = append(levels, m.Level+":"+m.Text)
	}
	joined := strings.Join(levels, "\n")
	for _, want := range []string{"error:render failed: 42", "warning:deprecated thing"} {
		if !strings.Contains(joined, want) {
			t.Errorf("console lacks %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "just info") {
		t.Errorf("console.log reported:\n%s", joined)
	}
	// The script's TypeError, then the rejection of r.json() on the 500's body.
	if len(p.Exceptions) != 2 || !strings.Contains(p.Exceptions[0].Message, "TypeError") || p.Exceptions[0].Line != 9 ||
		!strings.Contains(p.Exceptions[1].Message, "Uncaught (in promise)") {
		t.Errorf("exceptions %+v", p.Exceptions)
	}
	statuses := map[string]int{}
	for _, f := range p.FailedRequests {
		statuses[strings.TrimPrefix(f.URL, srv.URL)] = f.Status
	}
	if statuses["/missing.png"] != 404 || statuses["/api/items"] != 500 {
		t.Errorf("failed requests %+v", p.FailedRequests)
	}
	if len(noHeader) > 0 {
		t.Errorf("requests without the cookie: %v", noHeader)
	}
}

// TestRenderUnreachable: a page that cannot load is reported in the Page,
// not as an error of the browser, and the browser serves the next page.
func TestRenderUnreachable(t *testing.T) {
	b := newTestBrowser(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p, err := b.Render(context.Background(), url+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Error == "" || p.Status != 0 {
		t.Fatalf("page %+v", p)
	}
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<title>ok</title>")) }))
	defer ok.Close()
	for range 3 {
		p, err := b.Render(context.Background(), ok.URL+"/", nil)
		if err != nil || p.Title != "ok" {
			t.Fatalf("next page %+v, %v", p, err)
		}
		t.Logf("rendered in %.0f ms", p.DurationMS)
	}
}

// TestRecycle: after RecycleAfter pages the browser is replaced, and pages
// keep rendering, each in a context of its own (a cookie set by one page
// is not seen by the next).
func TestRecycle(t *testing.T) {
	path, err := Find("")
	if err != nil {
		t.Skip("no chromium")
	}
	b := New(Options{ExecPath: path, PageTimeout: 20 * time.Second, RecycleAfter: 2})
	defer b.Close()
	if err := b.Warm(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			return // the page's own favicon request carries its cookie
		}
		seen = append(seen, r.Header.Get("Cookie"))
		http.SetCookie(w, &http.Cookie{Name: "c", Value: "1"})
		w.Write([]byte("<title>ok</title>"))
	}))
	defer srv.Close()
	for i := range 5 {
		p, err := b.Render(context.Background(), srv.URL+"/", nil)
		if err != nil || p.Title != "ok" {
			t.Fatalf("page %d: %+v, %v", i, p, err)
		}
	}
	if len(seen) != 5 {
		t.Fatalf("%d page requests", len(seen))
	}
	for i, c := range seen {
		if c != "" {
			t.Errorf("request %d carried a cookie of an earlier page: %q", i, c)
		}
	}
}
