package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/server/browser"
)

const (
	// maxBrowserPages is how many pages the browser check renders: the
	// root page and the HTML routes the endpoint checks found.
	maxBrowserPages = 6
	// pageKeyCookie carries the key that names the preview a request of
	// the browser check is for. Its prefix is previewd's own: the proxy
	// strips it before the app, and no app can set it.
	pageKeyCookie = sessionCookiePrefix + "check"
)

// PageRenderer renders a page in a headless browser (browser.Browser).
type PageRenderer interface {
	Render(ctx context.Context, url string, cookie *http.Cookie) (browser.Page, error)
}

var _ PageRenderer = (*browser.Browser)(nil)

// browserPage is a rendered page as GET …/checks shows it.
type browserPage struct {
	browser.Page
	Path          string `json:"path"`
	ScreenshotURL string `json:"screenshot_url,omitempty"`
}

// browserResult is the browser section of the checks: the root page's
// findings at the top, and every page rendered.
type browserResult struct {
	CheckedAt      time.Time                `json:"checked_at"`
	URL            string                   `json:"url"`
	Status         int                      `json:"status"`
	Title          string                   `json:"title"`
	Error          string                   `json:"error,omitempty"`
	DurationMS     float64                  `json:"duration_ms"`
	Console        []browser.ConsoleMessage `json:"console"`
	Exceptions     []browser.Exception      `json:"exceptions"`
	FailedRequests []browser.FailedRequest  `json:"failed_requests"`
	ScreenshotURL  string                   `json:"screenshot_url,omitempty"`
	Pages          []browserPage            `json:"pages"`
}

// browse renders the preview's root page and its HTML routes through the
// browser proxy. It returns the browser section and the screenshots by page.
func (ck *checker) browse(ctx context.Context, g db.Generation, p db.Preview, checks []endpointCheck) (json.RawMessage, map[int][]byte) {
	start := time.Now()
	defer func() { ck.metrics.duration.WithLabelValues("browser").Observe(time.Since(start).Seconds()) }()
	base, cookie, release, err := ck.pages.open(p)
	if err != nil {
		ck.s.log.Warn("browser check: open the page proxy", "preview_id", p.ID, "err", err)
		return json.RawMessage(`"unavailable"`), nil
	}
	defer release()
	res := browserResult{Console: []browser.ConsoleMessage{}, Exceptions: []browser.Exception{}, FailedRequests: []browser.FailedRequest{}, Pages: []browserPage{}}
	shots := map[int][]byte{}
	for i, path := range htmlPaths(checks, maxBrowserPages) {
		if ctx.Err() != nil || !ck.s.sandbox.Running(p.ID) {
			break
		}
		page, err := ck.browser.Render(ctx, base+path, cookie)
		if err != nil {
			ck.s.log.Warn("browser check", "preview_id", p.ID, "err", err)
			ck.metrics.total.WithLabelValues("page_failed").Inc()
			page = browser.Page{URL: base + path, Error: "the browser failed: " + err.Error(),
				Console: []browser.ConsoleMessage{}, Exceptions: []browser.Exception{}, FailedRequests: []browser.FailedRequest{}}
		} else {
			ck.metrics.total.WithLabelValues(pageResult(page)).Inc()
		}
		page.URL = path // the proxy's address is previewd's own business
		for j := range page.FailedRequests {
			page.FailedRequests[j].URL = strings.TrimPrefix(page.FailedRequests[j].URL, base)
		}
		for j := range page.Console {
			page.Console[j].URL = strings.TrimPrefix(page.Console[j].URL, base)
		}
		for j := range page.Exceptions {
			page.Exceptions[j].URL = strings.TrimPrefix(page.Exceptions[j].URL, base)
		}
		bp := browserPage{Page: page, Path: path}
		if len(page.Screenshot) > 0 {
			shots[i] = page.Screenshot
			bp.ScreenshotURL = screenshotURL(g.ID, i)
		}
		res.Pages = append(res.Pages, bp)
	}
	res.CheckedAt = time.Now().UTC()
	if len(res.Pages) > 0 {
		root := res.Pages[0]
		res.URL, res.Status, res.Title, res.Error, res.DurationMS = root.URL, root.Status, root.Title, root.Error, root.DurationMS
		res.Console, res.Exceptions, res.FailedRequests, res.ScreenshotURL = root.Console, root.Exceptions, root.FailedRequests, root.ScreenshotURL
	}
	out, err := json.Marshal(res)
	if err != nil {
		return json.RawMessage(`"unavailable"`), nil
	}
	return out, shots
}

// pageResult is a rendered page's label in preview_checks_total.
func pageResult(p browser.Page) string {
	switch {
	case p.Error != "" || p.Status >= 400 || p.Status == 0:
		return "page_failed"
	case len(p.Exceptions) > 0 || len(p.FailedRequests) > 0 || hasConsoleError(p.Console):
		return "page_errors"
	}
	return "page_ok"
}

func hasConsoleError(msgs []browser.ConsoleMessage) bool {
	for _, m := range msgs {
		if m.Level == "error" {
			return true
		}
	}
	return false
}

// screenshotURL is where GET …/screenshot serves page i's PNG.
func screenshotURL(generationID string, page int) string {
	u := "/api/v1/generations/" + generationID + "/preview/screenshot"
	if page > 0 {
		u += "?page=" + strconv.Itoa(page)
	}
	return u
}

// htmlPaths are the pages the browser renders: the root, then the paths of
// GET checks that answered HTML, at most max in all.
func htmlPaths(checks []endpointCheck, max int) []string {
	out := []string{"/"}
	for _, c := range checks {
		if len(out) >= max {
			break
		}
		if c.Method != http.MethodGet || c.URL == "/" || c.Status == nil || *c.Status >= 400 {
			continue
		}
		if mt, _, err := mime.ParseMediaType(c.ContentType); err == nil && mt == "text/html" {
			out = append(out, c.URL)
		}
	}
	return out
}

// browserSummary says in a few words what the browser check found.
func browserSummary(raw json.RawMessage) string {
	var r browserResult
	if json.Unmarshal(raw, &r) != nil {
		return "unavailable"
	}
	errs := 0
	for _, p := range r.Pages {
		for _, m := range p.Console {
			if m.Level == "error" {
				errs++
			}
		}
	}
	ex, failed := 0, 0
	for _, p := range r.Pages {
		ex += len(p.Exceptions)
		failed += len(p.FailedRequests)
	}
	s := fmt.Sprintf("%d page", len(r.Pages))
	if len(r.Pages) != 1 {
		s += "s"
	}
	s += fmt.Sprintf(", %d console errors, %d exceptions, %d failed requests", errs, ex, failed)
	if r.Error != "" {
		s += "; the root page: " + r.Error
	} else if len(r.Exceptions) > 0 {
		s += "; first: " + r.Exceptions[0].Message
	}
	return s
}

// pageProxy is the browser check's door into previews: a loopback listener
// that carries each request through the browser proxy's ReverseProxy to
// the preview named by the key in the pageKeyCookie. A key exists only while
// its check runs; without one, nothing is served. The browser check does
// not use a user's session, so it is not the user's traffic either.
type pageProxy struct {
	s     *Server
	mu    sync.Mutex
	ln    net.Listener
	srv   *http.Server
	byKey map[string]db.Preview
}

func newPageProxy(s *Server) *pageProxy {
	return &pageProxy{s: s, byKey: map[string]db.Preview{}}
}

// open gives a check of preview p its base URL and the cookie its browser
// requests must carry, and a release that ends the key.
func (pp *pageProxy) open(p db.Preview) (string, *http.Cookie, func(), error) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, nil, fmt.Errorf("listen for the browser check: %w", err)
		}
		pp.ln = ln
		pp.srv = &http.Server{Handler: http.HandlerFunc(pp.serve), ReadHeaderTimeout: 10 * time.Second}
		go pp.srv.Serve(ln) // ends when close shuts the server
	}
	b := make([]byte, 16)
	rand.Read(b)
	key := hex.EncodeToString(b)
	pp.byKey[key] = p
	host := "127.0.0.1"
	if d := pp.s.cfg.PublicDomain; d != "" {
		// The app sees the kind of host it sees through the proxy.
		host = p.ID + "." + d
	}
	base := "http://" + net.JoinHostPort(host, strconv.Itoa(pp.ln.Addr().(*net.TCPAddr).Port))
	release := func() {
		pp.mu.Lock()
		delete(pp.byKey, key)
		pp.mu.Unlock()
	}
	return base, &http.Cookie{Name: pageKeyCookie, Value: key}, release, nil
}

func (pp *pageProxy) serve(w http.ResponseWriter, r *http.Request) {
	key := ""
	if c, err := r.Cookie(pageKeyCookie); err == nil {
		key = c.Value
	}
	pp.mu.Lock()
	p, ok := pp.byKey[key]
	pp.mu.Unlock()
	if !ok || key == "" {
		page(w, http.StatusForbidden, "This address serves previewd's browser checks only.")
		return
	}
	if !pp.s.sandbox.Running(p.ID) {
		page(w, http.StatusConflict, "This preview is not running.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxProxyRequestBody)
	ctx := context.WithValue(r.Context(), targetKey{}, target{upstream: pp.s.upstream(p)})
	pp.s.proxy.rp.ServeHTTP(w, r.WithContext(ctx))
}

// close stops the listener.
func (pp *pageProxy) close() {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.srv != nil {
		if err := pp.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			pp.s.log.Warn("close the browser check's proxy", "err", err)
		}
		pp.srv, pp.ln = nil, nil
	}
}
