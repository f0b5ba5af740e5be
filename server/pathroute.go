package server

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// Path routing serves a preview under previewd's own address, /p/<id>/,
// when it cannot have a host of its own. The app must then never run with
// previewd's origin: its script could read what the Preview tab keeps there
// and call the API as the person looking at it, and its cookies would reach
// the API and every other preview. So every path-routed answer is a
// sandboxed document with an opaque origin (no allow-same-origin), and the
// app's cookies are dropped.
//
// A sandboxed page sends no cookies for its own sub-resources and fetches
// (browsers treat an opaque origin's requests as cross-site, and block the
// third-party cookies that would be left). The session therefore travels in
// the address: /p/<id>/?token=<session_token> is answered with a redirect to
// /p/<id>/~<session_token>/, and the page's relative URLs carry it along.
// The token is stripped before the request reaches the app.

// pathSandboxPolicy is the Content-Security-Policy of every path-routed
// answer. It is added beside any policy the app sends; a browser enforces both.
const pathSandboxPolicy = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"

// pathRoute is a request under /p/<id>/.
type pathRoute struct {
	id     string // the preview id, lower case
	prefix string // what is stripped before the app sees the path: /p/<id> or /p/<id>/~<token>
	token  string // the session token in the address, if any
}

// parsePathRoute reads /p/<id>/[~<token>/]... from a request path. ok is
// false when the path is not a preview's; addSlash is true when it names a
// preview's root (or its session root) without the slash that relative URLs
// need.
func parsePathRoute(p string) (r pathRoute, addSlash, ok bool) {
	rest, ok := strings.CutPrefix(p, "/p/")
	if !ok {
		return pathRoute{}, false, false
	}
	id, rest, slash := strings.Cut(rest, "/")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return pathRoute{}, false, false
	}
	r = pathRoute{id: strings.ToLower(id), prefix: "/p/" + id}
	if !slash {
		return r, true, true
	}
	if seg, ok := strings.CutPrefix(rest, "~"); ok {
		tok, _, slash := strings.Cut(seg, "/")
		r.token, r.prefix = tok, r.prefix+"/~"+tok
		return r, !slash, true
	}
	return r, false, true
}

// sessionLocation is where a path-routed ?token= request is sent: the same
// path and query under the session's own prefix, without the token.
func (r pathRoute) sessionLocation(u *http.Request, tok string) string {
	rest, ok := strings.CutPrefix(u.URL.EscapedPath(), r.prefix)
	if !ok || !strings.HasPrefix(rest, "/") {
		rest = "/"
	}
	loc := "/p/" + r.id + "/~" + tok + rest
	if q := withoutToken(u.URL.RawQuery); q != "" {
		loc += "?" + q
	}
	return loc
}

// opaqueOriginCORS lets the sandboxed page read its own answers. Its origin
// is "null", so every request it makes to its own /p/<id>/~<token>/ is
// cross-origin: without these headers its fetches and module scripts fail.
// Only a holder of the session's address can make such a request, and no
// credentials are allowed. A preflight is answered here, since apps do not
// expect one from their own page; it reports whether it answered.
func opaqueOriginCORS(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Origin") != "null" || r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "null")
	h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
	if hs := r.Header.Get("Access-Control-Request-Headers"); hs != "" {
		h.Set("Access-Control-Allow-Headers", hs)
	}
	h.Set("Access-Control-Max-Age", "600")
	h.Add("Vary", "Origin")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// sandboxPathResponse makes an app's answer under path routing safe to show
// on previewd's origin: without cookies, and readable by the page's own
// opaque origin. The sandbox policy is on the answer already (serve).
func sandboxPathResponse(resp *http.Response) {
	h := resp.Header
	// An opaque-origin page sends no cookies, and one stored from a
	// navigation would belong to previewd's origin: none are kept.
	h.Del("Set-Cookie")
	// The address carries the session: it must not leave in a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	if resp.Request.Header.Get("Origin") == "null" {
		h.Set("Access-Control-Allow-Origin", "null")
		h.Del("Access-Control-Allow-Credentials")
		h.Add("Vary", "Origin")
	}
}
