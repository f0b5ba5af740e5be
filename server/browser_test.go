package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// framePage is the frontend's Preview tab, on the API's origin: it leaves a
// cookie of its own there, and shows ?src= in an iframe.
const framePage = `<!doctype html>
<meta charset="utf-8"><title>frontend</title>
<style>body{font-family:sans-serif;margin:12px} iframe{width:1000px;height:330px;border:3px solid #336}</style>
<h2>Frontend on the API origin <span id="origin"></span></h2>
<p>document.cookie here: <code id="apicookies"></code></p>
<iframe id="preview"></iframe>
<script>
document.cookie = 'api_js_cookie=from-api-js; path=/';
document.getElementById('origin').textContent = location.origin;
document.getElementById('apicookies').textContent = document.cookie;
const src = new URLSearchParams(location.search).get('src');
if (src) document.getElementById('preview').src = src;
</script>`

// TestBrowserIframeProxy: in headless Chromium, a preview's page loads in an
// iframe through proxy_url with its CSS and JS, on its own origin, and its
// script cannot read the API origin's cookies nor previewd's session cookie,
// though the browser holds both.
func TestBrowserIframeProxy(t *testing.T) {
	requireInfra(t, true)
	ctx := newChrome(t)
	l := listenFixed(t)
	e := newEnv(t, withPublicPort(portOf(l)))
	fd := openFrontDoor(e, l, map[string]string{"/browser-test/frame.html": framePage})
	gen := e.upload("alice", "browser-page")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	id := r.body["preview_id"].(string)
	proxyURL, _ := r.body["proxy_url"].(string)
	session := r.body["session_token"].(string)
	if want := "http://" + id + "." + publicDomain + ":" + strconv.Itoa(fd.port) + "/"; proxyURL != want {
		t.Fatalf("proxy_url %q, want %q", proxyURL, want)
	}

	// 1. The browser visits the API origin and holds its cookies.
	within(t, ctx, 20*time.Second, "open the frontend", chromedp.Navigate(fd.url("/browser-test/frame.html")))
	apiCookies := cookieNames(t, ctx, fd.url("/"))
	if !apiCookies["api_origin_cookie"] || !apiCookies["api_js_cookie"] {
		t.Fatalf("the browser holds no API-origin cookies: %v", apiCookies)
	}
	screenshot(t, ctx, "iframe-1-api-origin")

	// 2. The frontend puts proxy_url with the session token in an iframe.
	src := proxyURL + "?token=" + url.QueryEscape(session)
	within(t, ctx, 20*time.Second, "open the frontend with the iframe",
		chromedp.Navigate(fd.url("/browser-test/frame.html?src="+url.QueryEscape(src))))
	frame := frameContext(t, ctx, "http://"+id+"."+publicDomain)

	type pageState struct {
		Href       string `json:"href"`
		Status     string `json:"status"`
		Cookies    string `json:"cookies"`
		DocCookie  string `json:"docCookie"`
		TitleColor string `json:"titleColor"`
		Background string `json:"background"`
	}
	const readState = `(() => {
		const text = id => (document.getElementById(id) || {}).textContent || '';
		const title = document.getElementById('title');
		return {href: location.href, status: text('status'), cookies: text('cookies'),
			docCookie: document.cookie,
			titleColor: title ? getComputedStyle(title).color : '',
			background: getComputedStyle(document.body).backgroundColor};
	})()`
	pctx, cancel := context.WithTimeout(frame, 20*time.Second)
	_, err := chromedp.Run(pctx, chromedp.Poll[chromedp.Void](
		`document.getElementById('status') && document.getElementById('status').textContent === 'js-ran'`,
		chromedp.WithPollingInterval(50*time.Millisecond)))
	cancel()
	if err != nil {
		screenshot(t, ctx, "iframe-2-failed")
		body, _ := chromedp.Run(frame, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		var held []string
		for _, c := range cookies(t, ctx, proxyURL) {
			held = append(held, fmt.Sprintf("%s (HttpOnly %v, SameSite %q)", c.Name, c.HTTPOnly, c.SameSite))
		}
		t.Fatalf("the preview's script never ran in the iframe: %v; the iframe shows %q; the browser holds for it: %v "+
			"(in a cross-site iframe this Chromium stores a cookie only with SameSite=None; Secure; Partitioned)", err, body, held)
	}
	st := within(t, frame, 10*time.Second, "read the iframe", chromedp.Evaluate[pageState](readState))
	screenshot(t, ctx, "iframe-2-preview-loaded")

	// The token was traded for a cookie and dropped from the address.
	if st.Href != proxyURL {
		t.Errorf("the iframe is at %q, want %q (the token dropped)", st.Href, proxyURL)
	}
	// The stylesheet applied, through the proxy.
	if st.TitleColor != "rgb(0, 128, 0)" || st.Background != "rgb(255, 250, 205)" {
		t.Errorf("CSS not applied: title color %q, background %q", st.TitleColor, st.Background)
	}
	// The browser holds previewd's session cookie for the preview's origin…
	held := cookies(t, ctx, proxyURL)
	sessionName := "previewd_session_" + id[:8]
	if c := held[sessionName]; c == nil || !c.HTTPOnly {
		t.Errorf("the browser holds no HttpOnly %s for the preview: %v", sessionName, held)
	}
	// …and the cookie the app's script set, which the script can read back…
	if !strings.Contains(st.Cookies, "app_cookie=set-by-preview-js") || st.Cookies != st.DocCookie {
		t.Errorf("the app's own cookie is not readable by its script: #cookies %q, document.cookie %q", st.Cookies, st.DocCookie)
	}
	// …but the script sees neither the API origin's cookies nor previewd's.
	for _, secret := range []string{"api_origin_cookie", "api_js_cookie", "previewd_session_", session} {
		if strings.Contains(st.Cookies, secret) || strings.Contains(st.DocCookie, secret) {
			t.Errorf("the preview's script reads %q: document.cookie %q", secret, st.DocCookie)
		}
	}
}

// frameContext waits for the cross-site iframe at urlPrefix (Chrome runs it
// in its own process, as a target of its own) and attaches to it.
func frameContext(t *testing.T, ctx context.Context, urlPrefix string) context.Context {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, urlPrefix) {
				return attach(t, ctx, info.TargetID)
			}
			seen = append(seen, info.Type+" "+info.URL)
		}
		if time.Now().After(deadline) {
			screenshot(t, ctx, "iframe-no-target")
			t.Fatalf("no iframe target at %s; targets: %q", urlPrefix, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func attach(t *testing.T, ctx context.Context, id target.ID) context.Context {
	t.Helper()
	fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	t.Cleanup(cancel)
	if err := chromedp.Do(fctx); err != nil {
		t.Fatalf("attach to the iframe: %v", err)
	}
	return fctx
}

// cookies returns the cookies the browser holds for u, by name.
func cookies(t *testing.T, ctx context.Context, u string) map[string]*network.Cookie {
	t.Helper()
	res := within(t, ctx, 10*time.Second, "read cookies", func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	})
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

func cookieNames(t *testing.T, ctx context.Context, u string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for name := range cookies(t, ctx, u) {
		out[name] = true
	}
	return out
}

// eventsPage opens an EventSource on ?stream= and lists every log event,
// newest first, with the connection it came on.
const eventsPage = `<!doctype html>
<meta charset="utf-8"><title>log stream</title>
<style>body{font:13px monospace;margin:12px} li{white-space:pre}</style>
<h3>EventSource: <span id="url"></span></h3>
<p>opens: <b id="opens">0</b> · errors: <b id="errors">0</b> · readyState: <b id="state"></b> · lines: <b id="count">0</b></p>
<ol id="lines" reversed></ol>
<script>
const stream = new URLSearchParams(location.search).get('stream');
document.getElementById('url').textContent = stream.replace(/token=[^&]+/, 'token=…');
const $ = id => document.getElementById(id);
window.opens = 0; window.errors = 0;
const es = new EventSource(stream);
const state = () => { $('state').textContent = ['CONNECTING', 'OPEN', 'CLOSED'][es.readyState]; };
es.onopen = () => { $('opens').textContent = ++window.opens; state(); };
es.onerror = () => { $('errors').textContent = ++window.errors; state(); };
es.addEventListener('log', ev => {
	const l = JSON.parse(ev.data);
	const li = document.createElement('li');
	li.dataset.id = ev.lastEventId;
	li.dataset.seq = l.seq;
	li.dataset.stream = l.stream;
	li.dataset.conn = window.opens;
	li.dataset.line = l.line;
	li.textContent = 'id ' + ev.lastEventId + ' conn ' + window.opens + ' [' + l.stream + '] ' + l.line;
	$('lines').prepend(li);
	$('count').textContent = $('lines').children.length;
});
state();
</script>`

// shownLine is one log event as the page shows it.
type shownLine struct {
	ID     string `json:"id"`
	Seq    string `json:"seq"`
	Stream string `json:"stream"`
	Conn   string `json:"conn"`
	Line   string `json:"line"`
}

const readShown = `Array.from(document.querySelectorAll('#lines li')).reverse().map(li =>
	({id: li.dataset.id, seq: li.dataset.seq, stream: li.dataset.stream, conn: li.dataset.conn, line: li.dataset.line}))`

// TestBrowserEventSource: a browser's EventSource, authorised by ?token=,
// receives a preview's log lines; when previewd restarts under it, the
// EventSource reconnects by itself with Last-Event-ID and the lines go on
// with no duplicate and no gap in seq.
func TestBrowserEventSource(t *testing.T) {
	requireInfra(t, true)
	ctx := newChrome(t)
	l := listenFixed(t)
	e := newEnv(t, withPublicPort(portOf(l)))
	fd := openFrontDoor(e, l, map[string]string{"/browser-test/events.html": eventsPage})
	gen := e.upload("alice", "printer")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	session := r.body["session_token"].(string)
	base := r.body["base_url"].(string)

	stream := "/api/v1/generations/" + gen + "/preview/logs/stream?token=" + url.QueryEscape(session)
	within(t, ctx, 20*time.Second, "open the log page",
		chromedp.Navigate(fd.url("/browser-test/events.html?stream="+url.QueryEscape(stream))))
	waitPage(t, ctx, 20*time.Second, "the first lines", `document.querySelectorAll('#lines li').length > 0 && window.opens === 1`)

	// The app prints n=0..n-1, one line every 10 ms or so: the restart falls
	// in the middle.
	const n = 1500
	post(t, fmt.Sprintf("%s/print?n=%d&pause_every=1", base, n))
	waitPage(t, ctx, 20*time.Second, "n=100", `!!document.querySelector('#lines li[data-line="n=100"]')`)
	screenshot(t, ctx, "eventsource-1-streaming")

	fd.restart(t)
	waitPage(t, ctx, 60*time.Second, "the reconnect and the last line",
		fmt.Sprintf(`window.opens >= 2 && !!document.querySelector('#lines li[data-line="n=%d"]')`, n-1))
	screenshot(t, ctx, "eventsource-2-resumed")

	shown := within(t, ctx, 10*time.Second, "read the lines", chromedp.Evaluate[[]shownLine](readShown))
	errs := within(t, ctx, 5*time.Second, "read errors", chromedp.Evaluate[int](`window.errors`))
	if errs < 1 {
		t.Errorf("the EventSource saw no error: the connection was not dropped")
	}
	checkShown(t, shown, n)
}

// checkShown checks the lines a page received over two or more connections:
// ids equal seq and rise by one from the first line, the second connection
// starts right after the first one's last id, and the app's numbered lines
// come in order, without repeats; a gap in them is allowed only where
// previewd says it was down.
func checkShown(t *testing.T, shown []shownLine, n int) {
	t.Helper()
	var prev int64
	next, restarted := 0, false
	conns := map[string]int{}
	for i, l := range shown {
		seq, err := strconv.ParseInt(l.Seq, 10, 64)
		if err != nil || l.ID != l.Seq {
			t.Fatalf("line %d: id %q, seq %q", i, l.ID, l.Seq)
		}
		if i == 0 && seq != 1 {
			t.Fatalf("the first line has seq %d, want 1", seq)
		}
		if i > 0 && seq != prev+1 {
			t.Fatalf("seq %d (conn %s) after %d (conn %s): a duplicate or a gap", seq, l.Conn, prev, shown[i-1].Conn)
		}
		prev = seq
		conns[l.Conn]++
		if l.Stream == "system" && strings.HasPrefix(l.Line, "previewd restarted") {
			restarted = true
		}
		num, ok := strings.CutPrefix(l.Line, "n=")
		if !ok || l.Stream != "stdout" {
			continue
		}
		k, _ := strconv.Atoi(num)
		switch {
		case k == next:
		case k > next && restarted:
			t.Logf("n=%d..%d printed while previewd was down (not in the log, as its system line says)", next, k-1)
		default:
			t.Fatalf("n=%d after n=%d (conn %s)", k, next-1, l.Conn)
		}
		next = k + 1
	}
	if next != n {
		t.Fatalf("the last numbered line is n=%d, want n=%d", next-1, n-1)
	}
	if conns["1"] == 0 || conns["2"] == 0 {
		t.Fatalf("lines per connection: %v; want lines on the first and the second", conns)
	}
	t.Logf("%d lines, per connection %v", len(shown), conns)
}

// waitPage waits until expression is true in the tab.
func waitPage(t *testing.T, ctx context.Context, d time.Duration, what, expression string) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if _, err := chromedp.Run(pctx, chromedp.Poll[chromedp.Void](expression,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(d))); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2000)`))
		t.Fatalf("waiting for %s: %v; the page shows:\n%s", what, err, state)
	}
}
