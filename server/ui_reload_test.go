package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// twoPages is a FastAPI app with a second page, /page/two, both saying the
// revision.
func twoPages(rev int) []map[string]string {
	return []map[string]string{{"path": "main.py", "content": fmt.Sprintf(`from fastapi import FastAPI
from fastapi.responses import HTMLResponse
app = FastAPI()

@app.get('/', response_class=HTMLResponse)
def root():
    return '<p>home, revision %d</p><a id="two" href="/page/two?tab=b">two</a>'

@app.get('/page/two', response_class=HTMLResponse)
def two():
    return '<p>page two, revision %d</p>'
`, rev, rev)}}
}

// TestUIIframeReloadsOnRevision: with the Preview tab open on the app's
// second page, a patch of the generation reloads the iframe by itself, on
// that page, showing the new revision.
func TestUIIframeReloadsOnRevision(t *testing.T) {
	requireInfra(t, true)
	ctx := newChrome(t)
	l := listenFixed(t)
	e := newEnv(t, withPublicPort(portOf(l)))
	fd := openFrontDoor(e, l, nil)

	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": "two-pages", "files": twoPages(1)})
	mustStatus(t, r, http.StatusCreated)
	gen := r.body["id"].(string)
	r = e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	previewID := r.body["preview_id"].(string)
	defer e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)

	within(t, ctx, 10*time.Second, "set the viewport", chromedp.EmulateViewport(1280, 800))
	within(t, ctx, 20*time.Second, "open the page", chromedp.Navigate(fd.url("/")))
	waitPage(t, ctx, 10*time.Second, "the sign-in form", `!document.getElementById('signin-view').hidden`)
	within(t, ctx, 10*time.Second, "sign in", chromedp.Steps(
		chromedp.SetValue(chromedp.CSS("#token-input"), token(t, "alice")),
		chromedp.Click(chromedp.CSS("#signin-submit"))))
	waitPage(t, ctx, 10*time.Second, "the generation", `document.querySelectorAll('#gens .gen-item').length === 1`)
	within(t, ctx, 10*time.Second, "pick the generation", chromedp.Click(chromedp.CSS(`#gens .gen-item[data-id="`+gen+`"]`)))
	waitPage(t, ctx, 20*time.Second, "the attached preview",
		`document.getElementById('status-pill').textContent === 'running' && window.previewd.state.sessions.has('`+gen+`')`)
	within(t, ctx, 10*time.Second, "open the app", chromedp.Click(chromedp.CSS("#tab-app")))

	origin := "http://" + previewID + "." + publicDomain
	inFrame := func(what, expression string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		var last string
		for time.Now().Before(deadline) {
			frame := frameContext(t, ctx, origin)
			fctx, cancel := context.WithTimeout(frame, 2*time.Second)
			_, err := chromedp.Run(fctx, chromedp.Poll[chromedp.Void](expression, chromedp.WithPollingInterval(50*time.Millisecond)))
			if err == nil {
				cancel()
				return
			}
			last, _ = chromedp.Run(fctx, chromedp.Evaluate[string](`location.href + " " + (document.body ? document.body.innerText : "")`))
			cancel()
		}
		screenshot(t, ctx, "failed-"+what)
		t.Fatalf("the iframe never showed %s; it shows %q", what, last)
	}
	inFrame("the home page", `document.body && document.body.innerText.includes('home, revision 1')`)
	frame := frameContext(t, ctx, origin)
	within(t, frame, 10*time.Second, "follow the link", chromedp.Click(chromedp.CSS("#two")))
	inFrame("the second page", `location.pathname === '/page/two' && document.body.innerText.includes('page two, revision 1')`)

	r = e.patch("alice", gen, map[string]any{"files": twoPages(2)})
	mustStatus(t, r, http.StatusOK)
	inFrame("the second page of revision 2",
		`location.pathname === '/page/two' && location.search === '?tab=b' && document.body.innerText.includes('page two, revision 2')`)
	screenshot(t, ctx, "ui-reload-revision-2")

	r = e.patch("alice", gen, map[string]any{"files": twoPages(3)})
	mustStatus(t, r, http.StatusOK)
	inFrame("the second page of revision 3", `location.pathname === '/page/two' && document.body.innerText.includes('page two, revision 3')`)

	// A changed folder sent from the tab: its changed file and an added
	// one go up as revision 4, which the iframe then shows.
	dir := filepath.Join(t.TempDir(), "two-pages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"main.py": twoPages(4)[0]["content"], "notes.txt": "added from the tab\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	within(t, ctx, 10*time.Second, "send the changed folder", chromedp.SetUploadFiles(chromedp.CSS("#app-patch-folder"), []string{dir}))
	inFrame("the second page of revision 4", `location.pathname === '/page/two' && document.body.innerText.includes('page two, revision 4')`)
	g := e.call("GET", "/api/v1/generations/"+gen, "alice", "", nil)
	var paths []string
	for _, f := range g.body["files"].([]any) {
		paths = append(paths, f.(map[string]any)["path"].(string))
	}
	if g.body["revision"] != 4.0 || strings.Join(paths, ",") != "main.py,notes.txt" {
		t.Errorf("after sending the folder the generation is %s", g.raw)
	}
	revs := e.call("GET", "/api/v1/generations/"+gen+"/revisions", "alice", "", nil)
	t.Logf("revisions: %s", revs.raw)

	// The same folder again changes nothing, and says so.
	within(t, ctx, 10*time.Second, "send the folder again", chromedp.SetUploadFiles(chromedp.CSS("#app-patch-folder"), []string{dir}))
	waitPage(t, ctx, 20*time.Second, "the nothing-changed message",
		`document.getElementById('app-message').textContent.startsWith('Nothing changed')`)
	screenshot(t, ctx, "ui-reload-folder-sent")
}
