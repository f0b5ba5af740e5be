package server_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
)

// TestWebPageRoutes: / serves the Preview tab with its security headers and
// /ui/ its scripts, while the API, the health checks and the preview proxy
// (by host and by path) answer exactly as before.
func TestWebPageRoutes(t *testing.T) {
	e := newEnv(t, withProxy)

	r := e.call("GET", "/", "", "", nil)
	mustStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src 'self'", "frame-src 'self' http: https:", "default-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("GET /: Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if !strings.Contains(string(r.raw), `src="/ui/app.js"`) || r.header.Get("X-Request-ID") == "" {
		t.Errorf("GET /: not the page, or no X-Request-ID: %v %.200s", r.header, r.raw)
	}
	if r := e.call("HEAD", "/", "", "", nil); r.status != http.StatusOK || len(r.raw) != 0 {
		t.Errorf("HEAD /: %d with %d bytes", r.status, len(r.raw))
	}

	js := e.call("GET", "/ui/app.js", "", "", nil)
	mustStatus(t, js, http.StatusOK)
	if ct := js.header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" || js.header.Get("ETag") == "" {
		t.Errorf("GET /ui/app.js: Content-Type %q, ETag %q", ct, js.header.Get("ETag"))
	}
	if r := e.call("GET", "/ui/app.css", "", "", nil); r.status != http.StatusOK || r.header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("GET /ui/app.css: %d %q", r.status, r.header.Get("Content-Type"))
	}

	// The API is unchanged around the page.
	nope := e.call("GET", "/api/v1/nope", "alice", "", nil)
	mustStatus(t, nope, http.StatusNotFound)
	if nope.errorCode() != "not_found" || !strings.HasPrefix(nope.header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/nope: %s %s", nope.header.Get("Content-Type"), nope.raw)
	}
	if r := e.call("GET", "/nope", "", "", nil); r.status != http.StatusNotFound || r.errorCode() != "not_found" {
		t.Errorf("GET /nope: %d %s", r.status, r.raw)
	}
	if r := e.call("POST", "/", "", "", nil); r.status != http.StatusMethodNotAllowed || r.errorCode() != "invalid_request" {
		t.Errorf("POST /: %d %s", r.status, r.raw)
	}
	if r := e.call("GET", "/healthz", "", "", nil); r.status != http.StatusOK {
		t.Errorf("GET /healthz: %d", r.status)
	}
	if r := e.call("GET", "/api/v1/generations", "", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/generations without a token: %d", r.status)
	}

	// A preview's own host, and /p/<id>/, still go to the proxy, also at /.
	id := uuid.NewString()
	req, _ := http.NewRequest("GET", e.api.URL+"/", nil)
	req.Host = id + "." + publicDomain + ":8080"
	if r := e.do(req); r.status != http.StatusUnauthorized || !strings.Contains(string(r.raw), "session token") {
		t.Errorf("GET / on a preview host: %d %q, want the proxy's 401", r.status, r.raw)
	}
	if r := e.call("GET", "/p/"+id+"/", "", "", nil); r.status != http.StatusUnauthorized || !strings.Contains(string(r.raw), "session token") {
		t.Errorf("GET /p/<id>/: %d %q, want the proxy's 401", r.status, r.raw)
	}
}

// TestUIPreviewTab drives the Preview tab in headless Chromium as a person
// would: sign in, upload the fastapi sample folder through the page, launch
// it, watch its log, list and call its endpoints, see the app in the iframe,
// and stop it. Each step leaves test-artifacts/ui-<step>.png.
func TestUIPreviewTab(t *testing.T) {
	requireInfra(t, true)
	ctx := newChrome(t)
	l := listenFixed(t)
	e := newEnv(t, withPublicPort(portOf(l)), withChecks)
	fd := openFrontDoor(e, l, nil)
	problems := watchConsole(t, ctx)

	within(t, ctx, 10*time.Second, "set the viewport", chromedp.EmulateViewport(1280, 800))
	within(t, ctx, 20*time.Second, "open the page", chromedp.Navigate(fd.url("/")))
	waitPage(t, ctx, 10*time.Second, "the sign-in form", `!document.getElementById('signin-view').hidden`)

	// 1. A wrong token is refused with a sentence; the harness's token signs in.
	within(t, ctx, 10*time.Second, "type a bad token", chromedp.Steps(
		chromedp.SetValue(chromedp.CSS("#token-input"), "not-a-token"),
		chromedp.Click(chromedp.CSS("#signin-submit"))))
	waitPage(t, ctx, 10*time.Second, "the refusal", `document.getElementById('signin-error').textContent.includes('did not accept this token')`)
	screenshot(t, ctx, "ui-1-signin-refused")
	within(t, ctx, 10*time.Second, "sign in", chromedp.Steps(
		chromedp.SetValue(chromedp.CSS("#token-input"), token(t, "alice")),
		chromedp.Click(chromedp.CSS("#signin-submit"))))
	waitPage(t, ctx, 10*time.Second, "the signed-in page",
		`document.getElementById('whoami').textContent.includes('alice')`)
	// The token is in the page's memory only: nothing a script of this
	// origin could read later.
	if stored := within(t, ctx, 5*time.Second, "read the storage", chromedp.Evaluate[string](
		`JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie`)); stored != "{}{}" {
		t.Errorf("the page stored something: %s", stored)
	}
	screenshot(t, ctx, "ui-2-signed-in")

	// 2. Upload the sample folder through the page's directory input.
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "samples", "fastapi"))
	if err != nil {
		t.Fatal(err)
	}
	within(t, ctx, 10*time.Second, "choose the folder", chromedp.SetUploadFiles(chromedp.CSS("#upload-folder"), []string{dir}))
	waitPage(t, ctx, 10*time.Second, "the chosen folder", `!document.getElementById('upload-submit').disabled`)
	within(t, ctx, 10*time.Second, "upload", chromedp.Click(chromedp.CSS("#upload-submit")))
	waitPage(t, ctx, 20*time.Second, "the uploaded generation, selected",
		`document.getElementById('upload-message').textContent.startsWith('Uploaded') &&
		 document.getElementById('gen-name').textContent === 'fastapi' &&
		 document.querySelector('#gens .gen-item[aria-current=true]') !== null &&
		 document.getElementById('status-pill').textContent === 'not launched'`)
	screenshot(t, ctx, "ui-3-uploaded")
	gen := within(t, ctx, 5*time.Second, "read the generation id", chromedp.Evaluate[string](`window.previewd.state.selected.id`))
	g := e.call("GET", "/api/v1/generations/"+gen, "alice", "", nil)
	mustStatus(t, g, http.StatusOK)
	if g.body["framework"] != "fastapi" || g.body["file_count"] != 5.0 {
		t.Fatalf("the page uploaded %s", g.raw)
	}
	for _, f := range g.body["files"].([]any) {
		if p := f.(map[string]any)["path"].(string); strings.HasPrefix(p, "fastapi/") {
			t.Fatalf("the folder's own name is in the paths: %s", g.raw)
		}
	}

	// 3. Launch: the status turns running, with memory and CPU against the caps.
	within(t, ctx, 10*time.Second, "launch", chromedp.Click(chromedp.CSS("#launch")))
	waitPage(t, ctx, 120*time.Second, "the running preview", `document.getElementById('status-pill').textContent === 'running'`)
	waitPage(t, ctx, 30*time.Second, "live memory and CPU figures",
		`/MiB of 256 MiB/.test(document.getElementById('mem-text').textContent) &&
		 /% of 50% \(0.5 CPU\)/.test(document.getElementById('cpu-text').textContent) &&
		 parseFloat(document.querySelector('#mem-bar .fill').style.width) > 0`)
	screenshot(t, ctx, "ui-4-running")

	// 4. The log panel follows the stream: the app's start-up lines appear.
	within(t, ctx, 10*time.Second, "open the logs", chromedp.Click(chromedp.CSS("#tab-logs")))
	waitPage(t, ctx, 30*time.Second, "a log line of the app",
		`Array.from(document.querySelectorAll('#log-lines .line')).some(l => /Uvicorn running|Application startup complete/.test(l.textContent)) &&
		 document.getElementById('log-state').textContent.includes('Live')`)
	screenshot(t, ctx, "ui-5-logs")

	// 5. The endpoint list, and the try-it form.
	within(t, ctx, 10*time.Second, "open the endpoints", chromedp.Click(chromedp.CSS("#tab-endpoints")))
	waitPage(t, ctx, 20*time.Second, "the endpoint rows",
		`!!document.querySelector('#endpoints-rows tr[data-method="GET"][data-path="/api/items/{item_id}"]') &&
		 !!document.querySelector('#endpoints-rows tr[data-method="GET"][data-path="/"]')`)
	within(t, ctx, 10*time.Second, "try GET /api/items/{item_id}", chromedp.Steps(
		chromedp.Click(chromedp.CSS(`#endpoints-rows tr[data-path="/api/items/{item_id}"] button.try-it`)),
		chromedp.SendKeys(chromedp.CSS("#try-param-item_id"), "1")))
	waitPage(t, ctx, 5*time.Second, "the filled-in path", `document.getElementById('try-path').value === '/api/items/1'`)
	within(t, ctx, 10*time.Second, "send", chromedp.Click(chromedp.CSS("#try-send")))
	waitPage(t, ctx, 20*time.Second, "the app's answer",
		`document.getElementById('try-code').textContent === '200 OK' &&
		 document.getElementById('try-body-out').textContent.includes('"id": 1') &&
		 /\d+ ms/.test(document.getElementById('try-duration').textContent) &&
		 /content-type: application\/json/i.test(document.getElementById('try-headers-out').textContent)`)
	screenshot(t, ctx, "ui-6-endpoints-try-it")

	// The checks run once the preview was healthy: their table, with no
	// browser on this previewd.
	within(t, ctx, 10*time.Second, "open the checks", chromedp.Click(chromedp.CSS("#tab-checks")))
	waitPage(t, ctx, 60*time.Second, "the checks' rows",
		`document.getElementById('checks-summary').textContent.includes('2 endpoints: 2 ok') &&
		 document.querySelectorAll('#checks-rows tr').length === 2 &&
		 document.getElementById('checks-browser-head').textContent.includes('No browser')`)
	screenshot(t, ctx, "ui-6b-checks")

	// 6. The app itself, in the iframe, on its own origin.
	previewID := within(t, ctx, 5*time.Second, "read the preview id", chromedp.Evaluate[string](`window.previewd.state.status.preview_id`))
	within(t, ctx, 10*time.Second, "open the app", chromedp.Click(chromedp.CSS("#tab-app")))
	frame := frameContext(t, ctx, "http://"+previewID+"."+publicDomain)
	fctx, cancel := context.WithTimeout(frame, 20*time.Second)
	_, err = chromedp.Run(fctx, chromedp.Poll[chromedp.Void](`document.body && document.body.innerText.includes('hello from fastapi')`,
		chromedp.WithPollingInterval(50*time.Millisecond)))
	cancel()
	if err != nil {
		screenshot(t, ctx, "ui-failed-app")
		text, _ := chromedp.Run(frame, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("the iframe never showed the app: %v; it shows %q", err, text)
	}
	waitPage(t, ctx, 5*time.Second, "the app's address", `document.getElementById('app-address').textContent.startsWith('http://`+previewID+`.`+publicDomain+`')`)
	screenshot(t, ctx, "ui-7-app")

	// 7. A reload forgets the token; signing in again and picking the
	// running generation attaches to its preview: a fresh session, the log
	// followed again.
	within(t, ctx, 20*time.Second, "reload", chromedp.Reload())
	waitPage(t, ctx, 10*time.Second, "the sign-in form after the reload", `!document.getElementById('signin-view').hidden`)
	within(t, ctx, 10*time.Second, "sign in again", chromedp.Steps(
		chromedp.SetValue(chromedp.CSS("#token-input"), token(t, "alice")),
		chromedp.Click(chromedp.CSS("#signin-submit"))))
	waitPage(t, ctx, 10*time.Second, "the signed-in page after the reload",
		`document.getElementById('whoami').textContent.includes('alice') && document.querySelectorAll('#gens .gen-item').length === 1`)
	within(t, ctx, 10*time.Second, "pick the generation", chromedp.Click(chromedp.CSS(`#gens .gen-item[data-id="`+gen+`"]`)))
	waitPage(t, ctx, 20*time.Second, "the attached preview",
		`document.getElementById('status-pill').textContent === 'running' && window.previewd.state.sessions.has('`+gen+`')`)
	within(t, ctx, 10*time.Second, "open the logs after the reload", chromedp.Click(chromedp.CSS("#tab-logs")))
	waitPage(t, ctx, 20*time.Second, "the log, followed again",
		`document.getElementById('log-state').textContent.includes('Live') &&
		 Array.from(document.querySelectorAll('#log-lines .line')).some(l => l.textContent.includes('GET /api/items/1'))`)

	// 8. Stop: the status says stopped and the log stream ends.
	within(t, ctx, 10*time.Second, "stop", chromedp.Click(chromedp.CSS("#stop")))
	waitPage(t, ctx, 30*time.Second, "the stopped preview",
		`document.getElementById('status-pill').textContent === 'stopped' && document.getElementById('app-frame').hidden`)
	within(t, ctx, 10*time.Second, "open the logs again", chromedp.Click(chromedp.CSS("#tab-logs")))
	waitPage(t, ctx, 20*time.Second, "the end of the log",
		`document.getElementById('log-state').textContent === 'Log complete: the preview stopped.' && !window.previewd.logs.open &&
		 Array.from(document.querySelectorAll('#log-lines .line.system')).some(l => l.textContent.endsWith('stopped'))`)
	within(t, ctx, 10*time.Second, "back to the status", chromedp.Click(chromedp.CSS("#tab-status")))
	screenshot(t, ctx, "ui-8-stopped")
	if r := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil); r.body["status"] != "stopped" {
		t.Errorf("the API says %s after Stop", r.raw)
	}

	// 9. An archive goes up through the archive input; an app that crashes
	// on start is shown as a sentence, headed by its cause with file:line,
	// with its last log lines.
	archive := tarGz(t, filepath.Join("..", "testdata", "samples", "crash"), "crash")
	within(t, ctx, 10*time.Second, "choose the archive", chromedp.SetUploadFiles(chromedp.CSS("#upload-archive"), []string{archive}))
	waitPage(t, ctx, 10*time.Second, "the chosen archive", `!document.getElementById('upload-submit').disabled`)
	within(t, ctx, 10*time.Second, "upload the archive", chromedp.Click(chromedp.CSS("#upload-submit")))
	waitPage(t, ctx, 20*time.Second, "the uploaded archive, selected",
		`document.getElementById('gen-name').textContent === 'crash-sample' && document.querySelectorAll('#gens .gen-item').length === 2`)
	within(t, ctx, 10*time.Second, "launch the crash", chromedp.Click(chromedp.CSS("#launch")))
	waitPage(t, ctx, 120*time.Second, "the launch failure",
		`document.getElementById('notice-text').textContent.startsWith('The app did not start. Exception at start at main.py:13 — RuntimeError: boom on import. Hint: ') &&
		 document.getElementById('notice-text').textContent.includes('The app exited') &&
		 document.getElementById('status-failure').textContent.startsWith('Exception at start at main.py:13') &&
		 document.getElementById('notice-text').textContent.split('code 1').length === 2 &&
		 !document.getElementById('notice-details').hidden &&
		 document.getElementById('notice-log').textContent.includes('boom on import') &&
		 document.getElementById('status-pill').textContent === 'failed' &&
		 !document.getElementById('status-failure').hidden`)
	within(t, ctx, 10*time.Second, "open the log tail", chromedp.Click(chromedp.CSS("#notice-details summary")))
	screenshot(t, ctx, "ui-9-launch-failed")
	within(t, ctx, 10*time.Second, "open the logs of the crash", chromedp.Click(chromedp.CSS("#tab-logs")))
	waitPage(t, ctx, 20*time.Second, "the stored log of the crash",
		`Array.from(document.querySelectorAll('#log-lines .line.stderr')).some(l => l.textContent.includes('boom on import')) &&
		 document.getElementById('log-state').textContent === 'Log complete: the preview failed.'`)
	screenshot(t, ctx, "ui-10-failed-logs")

	// 10. Sign out forgets the token.
	within(t, ctx, 10*time.Second, "sign out", chromedp.Click(chromedp.CSS("#signout")))
	waitPage(t, ctx, 10*time.Second, "the sign-in form again",
		`!document.getElementById('signin-view').hidden && window.previewd.state.token === ''`)

	for _, p := range problems() {
		t.Errorf("the page's console: %s", p)
	}
}

// watchConsole collects the page's uncaught exceptions, console errors and
// browser-log errors (a Content-Security-Policy violation is one). Failed
// loads (the browser's "network" entries) are left out: the page expects
// some, such as the 401 of a refused token or the 404 of a preview's status
// before its first launch, and shows them as sentences.
func watchConsole(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	cctx, cancel := context.WithCancel(ctx)
	messages := chromedp.Console(cctx)
	done := make(chan struct{})
	go func() {
		defer close(done) // when cancel ends the subscription
		for m, err := range messages {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError && m.Source != "network") || m.IsException() {
				mu.Lock()
				seen = append(seen, m.String()+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// tarGz packs the files under dir into a .tar.gz in a temporary directory,
// each under prefix/, as a person's "tar czf name.tar.gz name" would.
func tarGz(t *testing.T, dir, prefix string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), prefix+"-sample.tar.gz")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr := &tar.Header{Name: prefix + "/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}
