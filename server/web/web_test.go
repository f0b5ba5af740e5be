package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func newEngine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	Register(r)
	return r
}

func serveReq(h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestWebServesPageAndAssets(t *testing.T) {
	r := newEngine()
	tests := []struct {
		method, path string
		status       int
		contentType  string
		csp          bool
		bodyHas      string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", true, `<script type="module" src="/ui/app.js"></script>`},
		{"HEAD", "/", 200, "text/html; charset=utf-8", true, ""},
		{"GET", "/ui/app.js", 200, "text/javascript; charset=utf-8", false, "import"},
		{"GET", "/ui/logs.js", 200, "text/javascript; charset=utf-8", false, "EventSource"},
		{"HEAD", "/ui/app.css", 200, "text/css; charset=utf-8", false, ""},
		{"GET", "/ui/favicon.svg", 200, "image/svg+xml", false, "<svg"},
		{"GET", "/ui/nope.js", 404, "text/plain; charset=utf-8", false, "not found"},
		{"GET", "/ui/index.html", 404, "text/plain; charset=utf-8", false, ""},
		{"GET", "/ui/", 404, "text/plain; charset=utf-8", false, ""},
	}
	for _, tt := range tests {
		w := serveReq(r, tt.method, tt.path, nil)
		if w.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, w.Code, tt.status)
			continue
		}
		h := w.Header()
		if got := h.Get("Content-Type"); got != tt.contentType {
			t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, got, tt.contentType)
		}
		if got := h.Get("Content-Security-Policy"); (got != "") != tt.csp {
			t.Errorf("%s %s: Content-Security-Policy %q", tt.method, tt.path, got)
		}
		if tt.status == 200 {
			if h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: caching headers %v", tt.method, tt.path, h)
			}
		}
		if tt.method == "HEAD" && w.Body.Len() != 0 {
			t.Errorf("HEAD %s: a body of %d bytes", tt.path, w.Body.Len())
		}
		if !strings.Contains(w.Body.String(), tt.bodyHas) {
			t.Errorf("%s %s: body lacks %q", tt.method, tt.path, tt.bodyHas)
		}
	}
}

func TestWebRevalidatesWithETag(t *testing.T) {
	r := newEngine()
	first := serveReq(r, "GET", "/ui/app.js", nil)
	etag := first.Header().Get("ETag")
	again := serveReq(r, "GET", "/ui/app.js", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Fatalf("If-None-Match %s: status %d with %d bytes, want 304 and none", etag, again.Code, again.Body.Len())
	}
	if other := serveReq(r, "GET", "/ui/app.css", nil).Header().Get("ETag"); other == etag {
		t.Fatalf("app.js and app.css share the ETag %s", etag)
	}
}

func TestWebLeavesOtherRoutesAlone(t *testing.T) {
	r := newEngine()
	r.HandleMethodNotAllowed = true
	r.GET("/healthz", func(c *gin.Context) { c.String(200, "ok") })
	for path, want := range map[string]int{"/healthz": 200, "/nope": 404, "/api/v1/x": 404, "/index.html": 404} {
		if w := serveReq(r, "GET", path, nil); w.Code != want {
			t.Errorf("GET %s: %d, want %d", path, w.Code, want)
		}
	}
	if w := serveReq(r, "POST", "/", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", w.Code)
	}
}

// TestWebPageObeysItsPolicy: the page's CSP allows no inline script or
// style, so the page must have none, and every module a script imports must
// be one of the embedded files.
func TestWebPageObeysItsPolicy(t *testing.T) {
	root, err := fs.Sub(static, "static")
	if err != nil {
		t.Fatal(err)
	}
	page, err := fs.ReadFile(root, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(html) {
		t.Error("index.html has an inline script, which script-src 'self' blocks")
	}
	if regexp.MustCompile(`(?i)\sstyle=|<style`).MatchString(html) || regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(html) {
		t.Error("index.html has inline style or event handler attributes, which the policy blocks")
	}
	for _, ref := range regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`).FindAllStringSubmatch(html, -1) {
		if _, err := fs.Stat(root, strings.TrimPrefix(ref[1], "/")); err != nil {
			t.Errorf("index.html refers to %s, which is not embedded", ref[1])
		}
	}
	imports := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';`)
	scripts, _ := fs.Glob(root, "ui/*.js")
	if len(scripts) == 0 {
		t.Fatal("no scripts embedded")
	}
	for _, name := range scripts {
		src, err := fs.ReadFile(root, name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "innerHTML") || strings.Contains(string(src), "eval(") {
			t.Errorf("%s builds HTML from strings or evaluates code", name)
		}
		for _, m := range imports.FindAllStringSubmatch(string(src), -1) {
			if _, err := fs.Stat(root, "ui/"+m[1]); err != nil {
				t.Errorf("%s imports ./%s, which is not embedded", name, m[1])
			}
		}
	}
}
