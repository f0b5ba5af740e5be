package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
)

// secretsPage is a page of previewd's own origin that holds secrets of the
// kind a frontend keeps there, and shows ?src= in an iframe that has no
// sandbox attribute of its own: previewd's answer must sandbox the app.
const secretsPage = `<!doctype html>
<meta charset="utf-8"><title>secrets</title>
<iframe id="preview" style="width:900px;height:300px"></iframe>
<script>
window.secret = 'api-origin-secret';
localStorage.setItem('secret', 'api-origin-secret');
document.cookie = 'api_js_cookie=api-origin-secret; path=/';
const src = new URLSearchParams(location.search).get('src');
if (src) document.getElementById('preview').src = src;
</script>`

// probeReport is what the hostile page found out, from one route.
type probeReport struct {
	Route          string `json:"route"`
	Origin         string `json:"origin"`
	LocalStorage   string `json:"localStorage"`
	SessionStorage string `json:"sessionStorage"`
	Cookie         string `json:"cookie"`
	SetCookie      string `json:"setCookie"`
	Parent         string `json:"parent"`
	Opener         string `json:"opener"`
	APICall        string `json:"apiCall"`
	OwnData        string `json:"ownData"`
}

// TestBrowserHostileAppIsolated: in Chromium, with the viewer signed in to
// the Preview tab, a hostile app opened through every route — its own host
// and previewd's /p/<id>/, each in a new tab and in an iframe — can read
// neither the Preview tab's token nor anything else of previewd's origin,
// cannot call the API as the viewer, and leaves no cookie that the API or
// another preview would see; its own page, script and data still load.
func TestBrowserHostileAppIsolated(t *testing.T) {
	requireInfra(t, true)
	ctx := newChrome(t)
	l := listenFixed(t)
	e := newEnv(t, withPublicPort(portOf(l)))
	fd := openFrontDoor(e, l, map[string]string{"/browser-test/secrets.html": secretsPage})
	gen := e.upload("alice", "hostile-page")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	p := preview{gen: gen, id: r.body["preview_id"].(string), token: r.body["session_token"].(string)}
	p.proxyURL, _ = r.body["proxy_url"].(string)
	viewerToken := token(t, "alice")

	// 1. The viewer signs in and opens the app in the Preview tab's iframe
	// (its own host).
	within(t, ctx, 20*time.Second, "open the Preview tab", chromedp.Navigate(fd.url("/")))
	within(t, ctx, 10*time.Second, "sign in", chromedp.Steps(
		chromedp.SetValue(chromedp.CSS("#token-input"), viewerToken),
		chromedp.Click(chromedp.CSS("#signin-submit"))))
	waitPage(t, ctx, 20*time.Second, "the generation", `!!document.querySelector('#gens .gen-item[data-id="`+gen+`"]')`)
	within(t, ctx, 10*time.Second, "pick the generation", chromedp.Click(chromedp.CSS(`#gens .gen-item[data-id="`+gen+`"]`)))
	waitPage(t, ctx, 20*time.Second, "the running preview", `document.getElementById('status-pill').textContent === 'running'`)
	within(t, ctx, 10*time.Second, "open the app", chromedp.Click(chromedp.CSS("#tab-app")))

	// 2. In new tabs, while the Preview tab stays signed in: the app's host,
	// /p/<id>/ (as "Open in a new tab" or a link sent to the viewer opens
	// it), and /p/<id>/ in an unsandboxed iframe of previewd's origin. (One
	// tab each: chromedp loses a tab's load event after a cross-site
	// navigation.)
	q := "?token=" + url.QueryEscape(p.token)
	for _, u := range []string{
		p.proxyURL + q,
		fd.url("/p/" + p.id + "/" + q),
		fd.url("/browser-test/secrets.html?src=" + url.QueryEscape("/p/"+p.id+"/"+q)),
	} {
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		within(t, tab, 20*time.Second, "open "+u, chromedp.Navigate(u))
	}

	// 3. The page's reports, read back from the app.
	want := []string{"host-iframe", "host-tab", "path-tab", "path-iframe"}
	reports := map[string]probeReport{}
	deadline := time.Now().Add(30 * time.Second)
	for len(reports) < len(want) {
		if time.Now().After(deadline) {
			screenshot(t, ctx, "isolation-ui")
			t.Fatalf("the probe reported from %d routes, want %v: %v", len(reports), want, reports)
		}
		time.Sleep(200 * time.Millisecond)
		var raw []string
		res := e.appRequest("alice", p, p.token, map[string]any{"path": "/reports"})
		mustStatus(t, res, http.StatusOK)
		if err := json.Unmarshal([]byte(res.body["body"].(string)), &raw); err != nil {
			t.Fatalf("reports: %v in %s", err, res.raw)
		}
		for _, s := range raw {
			var pr probeReport
			if err := json.Unmarshal([]byte(s), &pr); err != nil {
				t.Fatalf("report %q: %v", s, err)
			}
			reports[pr.Route] = pr
		}
	}
	secrets := []string{viewerToken, "api-origin-secret", "api_origin_cookie", "api_js_cookie", "previewd_session_"}
	for _, route := range want {
		pr, ok := reports[route]
		if !ok {
			t.Errorf("no report from %s: %v", route, reports)
			continue
		}
		b, _ := json.Marshal(pr)
		t.Logf("%s: %s", route, b)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s: the app read %q: %s", route, s, b)
			}
		}
		if strings.HasPrefix(pr.APICall, "READ status 2") {
			t.Errorf("%s: the app called the API as the viewer: %s", route, pr.APICall)
		}
		if pr.OwnData != "ok" {
			t.Errorf("%s: the app could not load its own data: %s", route, pr.OwnData)
		}
		if strings.HasSuffix(route, "-iframe") && !strings.HasPrefix(pr.Parent, "blocked") {
			t.Errorf("%s: the app reached the page around it: %s", route, pr.Parent)
		}
		if strings.HasPrefix(route, "path-") && (pr.Origin != "null" || !strings.HasPrefix(pr.LocalStorage, "blocked") || !strings.HasPrefix(pr.Cookie, "blocked")) {
			t.Errorf("%s: the app is not in an opaque origin: origin %q, localStorage %q, cookie %q", route, pr.Origin, pr.LocalStorage, pr.Cookie)
		}
	}

	// 4. No cookie of the app's is sent to the API, to /p/ of another
	// preview, or to another preview's host.
	other := uuid.NewString()
	for _, u := range []string{
		fd.url("/"), fd.url("/api/v1/generations"), fd.url("/p/" + other + "/~x/"), fd.url("/p/" + p.id + "/~" + p.token + "/"),
		"http://" + other + "." + publicDomain + ":" + strconv.Itoa(fd.port) + "/",
	} {
		for name := range cookies(t, ctx, u) {
			if strings.HasPrefix(name, "hostile_") {
				t.Errorf("the browser sends the app's cookie %s to %s", name, u)
			}
		}
	}
}
