package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
)

const (
	// sessionCookiePrefix names previewd's own cookies; they never reach an app,
	// and an app cannot set them.
	sessionCookiePrefix = "previewd_session_"
	// maxProxyRequestBody caps what a browser may upload through the proxy.
	maxProxyRequestBody = 20 << 20
	// touchEvery is how often proxied traffic of one session is written to
	// PostgreSQL, and how long the browser proxy trusts a session it has
	// checked; the idle timer and session lifetime are far longer.
	touchEvery = 5 * time.Second
	// maxSessionEntries bounds the memory of both.
	maxSessionEntries = 10000
)

// proxy carries requests into running previews: the browser-grade reverse
// proxy, and the client of POST /request. Both use one keep-alive transport.
type proxy struct {
	s        *Server
	rp       *httputil.ReverseProxy
	client   *http.Client
	touches  recent[struct{}]   // when each session's traffic was last recorded
	sessions recent[db.Preview] // running previews of recently checked sessions
	// frames is the address of the page each session's iframe loaded last,
	// for the Preview tab to load again after an update (see resumeParam).
	frames  recent[string]
	metrics *proxyMetrics
}

// resumeParam, next to ?token=, asks for the page the session's iframe
// loaded last instead of the address asked for: the Preview tab reloads an
// app of another origin, whose address it cannot read, on the page the user
// was on.
const resumeParam = "previewd_resume"

// frameTTL is how long the page an iframe loaded is remembered.
const frameTTL = time.Hour

// target is where a proxied request goes, set by serve for rewrite.
type target struct {
	upstream *url.URL
	prefix   string // "/p/<id>/~<token>" for path routing, "" for host routing
}

type targetKey struct{}

func newProxy(s *Server, reg prometheus.Registerer) *proxy {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy: nil, // never through HTTP_PROXY: the upstream is on this host
		// A preview's port is relayed by previewd itself to the app's
		// socket; previewd's own connections go to the socket directly,
		// which takes a TCP round trip and a copy off every request.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if _, port, err := net.SplitHostPort(addr); err == nil {
				if n, err := strconv.Atoi(port); err == nil {
					c, err := s.sandbox.DialApp(ctx, n)
					if !errors.Is(err, sandbox.ErrNoApp) {
						return c, err
					}
				}
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: s.cfg.RequestTimeout,
		DisableCompression:    true, // pass the app's encoding through untouched
	}
	p := &proxy{
		s: s,
		client: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		touches:  newRecent[struct{}](touchEvery, maxSessionEntries),
		sessions: newRecent[db.Preview](touchEvery, maxSessionEntries),
		frames:   newRecent[string](frameTTL, maxSessionEntries),
		metrics:  newProxyMetrics(reg),
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      transport,
		FlushInterval:  -1, // streams and server-sent events flow as the app writes them
		BufferPool:     copyBuffers{},
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
	}
	return p
}

// copyBuffers lends ReverseProxy the buffers it copies bodies with; without
// it each request allocates one of 32 KiB.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (copyBuffers) Get() []byte  { return copyBufferPool.Get().(*[32 << 10]byte)[:] }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put((*[32 << 10]byte)(b)) }

// route sends requests for a preview's host, or under /p/<id>/, to the
// proxy, and everything else to the API.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if id, ok := s.previewHost(r.Host); ok {
		s.proxy.serve(w, r, id, nil)
		return
	}
	if pr, addSlash, ok := parsePathRoute(r.URL.Path); ok {
		if addSlash {
			// The page's relative URLs resolve against its address, which
			// must end in a slash for them to stay under the prefix.
			u := *r.URL
			u.Path += "/"
			u.RawPath = ""
			http.Redirect(w, r, u.RequestURI(), http.StatusPermanentRedirect)
			return
		}
		s.proxy.serve(w, r, pr.id, &pr)
		return
	}
	s.engine.ServeHTTP(w, r)
}

// previewHost returns the preview id of a host <preview_id>.<PublicDomain>[:port].
func (s *Server) previewHost(host string) (string, bool) {
	if s.cfg.PublicDomain == "" {
		return "", false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	id, ok := strings.CutSuffix(host, "."+strings.ToLower(s.cfg.PublicDomain))
	if !ok || len(id) != 36 {
		return "", false
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", false
	}
	return id, true
}

// proxyURL is the preview's address for a browser.
func (s *Server) proxyURL(p db.Preview) any {
	if s.cfg.PublicDomain == "" {
		return nil
	}
	host := p.ID + "." + s.cfg.PublicDomain
	if s.cfg.PublicPort != 0 && s.cfg.PublicPort != 80 {
		host += ":" + strconv.Itoa(s.cfg.PublicPort)
	}
	return "http://" + host + "/"
}

// upstream is the address previewd forwards into the preview's container:
// always taken from the preview's record, never from the request.
func (s *Server) upstream(p db.Preview) *url.URL {
	host := s.sandbox.Config().Host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(p.Port))}
}

// serve authorises a browser request for preview id and proxies it; path is
// nil under host routing.
func (p *proxy) serve(w http.ResponseWriter, r *http.Request, id string, path *pathRoute) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	defer func() {
		p.metrics.requests.WithLabelValues(strconv.Itoa(rec.code)).Inc()
		p.metrics.duration.Observe(time.Since(start).Seconds())
	}()
	prefix := ""
	if path != nil {
		prefix = path.prefix
		// On every answer, previewd's own included. ReverseProxy adds the
		// app's headers beside it, so an app's own policy cannot replace it.
		rec.Header().Set("Content-Security-Policy", pathSandboxPolicy)
	}
	pv, tokenHash, ok := p.authorize(rec, r, id, path)
	if !ok {
		return
	}
	if pv.Status != db.StatusRunning {
		page(rec, http.StatusConflict, "This preview is not running. Launch it again from previewd.")
		return
	}
	p.touch(r.Context(), pv.ID, tokenHash)
	if r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Dest") == "iframe" {
		p.frames.put(string(tokenHash), browserAddress(r), time.Now())
	}
	if path != nil && opaqueOriginCORS(rec, r) {
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, maxProxyRequestBody)
	ctx := context.WithValue(r.Context(), targetKey{}, target{upstream: p.s.upstream(pv), prefix: prefix})
	p.rp.ServeHTTP(rec, r.WithContext(ctx))
}

// authorize checks the request's session for preview id: its cookie under
// host routing, the token in its address under path routing. A ?token= is
// traded for a cookie (host routing) or a session address (path routing)
// and a redirect to the same address without it; the answer is then
// written and ok is false.
func (p *proxy) authorize(w http.ResponseWriter, r *http.Request, id string, path *pathRoute) (pv db.Preview, tokenHash []byte, ok bool) {
	name := sessionCookiePrefix + id[:8]
	tok := r.URL.Query().Get("token")
	fromQuery := tok != ""
	switch {
	case fromQuery:
	case path != nil:
		tok = path.token
	default:
		if c, err := r.Cookie(name); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		page(w, http.StatusUnauthorized, "Open this preview through the link previewd gives you: it carries a session token.")
		return db.Preview{}, nil, false
	}
	tokenHash = sandbox.HashToken(tok)
	now := time.Now()
	// A session checked moments ago needs no query, as long as its preview is
	// still running in this process (Running turns false before the
	// preview's port can be handed to another preview).
	if pv, ok := p.sessions.get(string(tokenHash), now); ok && !fromQuery && pv.ID == id && p.s.sandbox.Running(id) {
		return pv, tokenHash, true
	}
	pv, err := p.s.store.SessionPreview(r.Context(), tokenHash)
	switch {
	case errors.Is(err, db.ErrNotFound):
		page(w, http.StatusUnauthorized, "This preview session has expired or is not valid. Open the preview again from previewd.")
		return db.Preview{}, nil, false
	case err != nil:
		p.s.log.Error("proxy session lookup", "preview_id", id, "err", err)
		page(w, http.StatusServiceUnavailable, "previewd cannot check this session right now; try again shortly.")
		return db.Preview{}, nil, false
	case pv.ID != id:
		page(w, http.StatusForbidden, "This session belongs to another preview.")
		return db.Preview{}, nil, false
	}
	if !fromQuery {
		if pv.Status == db.StatusRunning {
			p.sessions.put(string(tokenHash), pv, now)
		}
		return pv, tokenHash, true
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	resume, resumed := "", false
	if r.URL.Query().Has(resumeParam) {
		resume, resumed = p.frames.get(string(tokenHash), now)
	}
	if path != nil {
		loc := path.sessionLocation(r, tok)
		if resumed {
			loc = resume
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusSeeOther)
		return db.Preview{}, nil, false
	}
	cookie := &http.Cookie{Name: name, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if secureContext(r) {
		// The preview is usually shown in an iframe of another site (the
		// frontend): browsers keep a cookie set there only when it is
		// SameSite=None, Secure and partitioned by the embedding site.
		// Secure needs https, or a localhost host, which browsers treat as
		// secure; over plain http elsewhere the iframe must be same-site.
		cookie.SameSite, cookie.Secure, cookie.Partitioned = http.SameSiteNoneMode, true, true
	}
	http.SetCookie(w, cookie)
	loc := samePathLocation(r.URL.EscapedPath())
	if q := withoutToken(r.URL.RawQuery); q != "" {
		loc += "?" + q
	}
	if resumed {
		loc = resume
	}
	// Not http.Redirect: it would clean the path, and the browser must come
	// back to exactly the address it asked for.
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusSeeOther)
	return db.Preview{}, nil, false
}

// browserAddress is the address of r as the browser has it, made safe to
// send back as a relative Location.
func browserAddress(r *http.Request) string {
	loc := samePathLocation(r.URL.EscapedPath())
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	return loc
}

// samePathLocation makes a request's escaped path safe to send back as a
// relative Location. A path such as //evil.example/ (or /\evil.example/,
// which browsers read the same way) would be a protocol-relative URL to
// another host; a leading "/." keeps it on this host with the same path,
// since a browser drops the "." segment when it resolves the address.
func samePathLocation(escapedPath string) string {
	if !strings.HasPrefix(escapedPath, "/") {
		return "/" + escapedPath
	}
	if len(escapedPath) > 1 && (escapedPath[1] == '/' || escapedPath[1] == '\\') {
		return "/." + escapedPath
	}
	return escapedPath
}

// secureContext reports whether a browser treats the request's origin as
// secure: https, or a localhost host.
func secureContext(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withoutToken drops the token and resume parameters from a raw query,
// keeping the rest as the browser sent it.
func withoutToken(raw string) string {
	var kept []string
	for part := range strings.SplitSeq(raw, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); part == "" || err == nil && (k == "token" || k == resumeParam) {
			continue
		}
		kept = append(kept, part)
	}
	return strings.Join(kept, "&")
}

// touch records proxied traffic of a session, at most once per touchEvery.
func (p *proxy) touch(ctx context.Context, previewID string, tokenHash []byte) {
	p.s.sandbox.Touched(previewID)
	now := time.Now()
	if _, ok := p.touches.get(string(tokenHash), now); ok {
		return
	}
	p.touches.put(string(tokenHash), struct{}{}, now)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := p.s.store.TouchPreview(ctx, previewID, tokenHash, p.s.sandbox.Config().SessionTimeout); err != nil {
		p.s.log.Warn("touch preview", "preview_id", previewID, "err", err)
	}
}

// rewrite builds the upstream request. ReverseProxy has already removed
// hop-by-hop headers (also those named in Connection) and any X-Forwarded-*
// the client sent.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(targetKey{}).(target)
	if t.prefix != "" {
		pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, t.prefix)
		pr.Out.URL.RawPath = ""
		if raw, ok := strings.CutPrefix(pr.In.URL.RawPath, t.prefix); ok {
			pr.Out.URL.RawPath = raw
		}
	}
	pr.SetURL(t.upstream)
	// The app sees the address the browser uses, so the URLs it makes work there.
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
	// Apps read X-Real-IP as the client's address, as they read
	// X-Forwarded-For: previewd sets it from the connection, never from the client.
	pr.Out.Header.Del("X-Real-IP")
	if ip := pr.Out.Header.Get("X-Forwarded-For"); ip != "" {
		pr.Out.Header.Set("X-Real-IP", ip)
	}
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("X-Preview-Token")
	stripSessionCookies(pr.Out.Header)
}

// stripSessionCookies removes previewd's cookies from the Cookie header and
// leaves the app's cookies as the browser sent them.
func stripSessionCookies(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if part == "" || strings.HasPrefix(part, sessionCookiePrefix) {
				continue
			}
			kept = append(kept, part)
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

// modifyResponse keeps the app's cookies and redirects inside its own origin.
func (p *proxy) modifyResponse(resp *http.Response) error {
	t := resp.Request.Context().Value(targetKey{}).(target)
	host := resp.Request.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if t.prefix != "" {
		sandboxPathResponse(resp)
	}
	if lines := resp.Header.Values("Set-Cookie"); len(lines) > 0 {
		resp.Header.Del("Set-Cookie")
		for _, line := range lines {
			if allowedSetCookie(line, host) {
				resp.Header.Add("Set-Cookie", line)
			}
		}
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", rewriteLocation(loc, t))
	}
	return nil
}

// allowedSetCookie reports whether an app's cookie stays within the
// preview's own host. (Under path routing none is kept.)
func allowedSetCookie(line, host string) bool {
	c, err := http.ParseSetCookie(line)
	if err != nil || strings.HasPrefix(c.Name, sessionCookiePrefix) {
		return false
	}
	return c.Domain == "" || strings.EqualFold(strings.TrimPrefix(c.Domain, "."), host)
}

// rewriteLocation turns a redirect to the upstream address into one the
// browser can follow, and keeps path-routed redirects under /p/<id>/.
func rewriteLocation(loc string, t target) string {
	if rest, ok := strings.CutPrefix(loc, t.upstream.String()); ok && (rest == "" || strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "?")) {
		loc = rest
		if !strings.HasPrefix(loc, "/") {
			loc = "/" + loc
		}
	}
	if t.prefix != "" && strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, t.prefix+"/") {
		loc = t.prefix + loc
	}
	return loc
}

func (p *proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		page(w, http.StatusRequestEntityTooLarge, "The request body is too large.")
	case errors.Is(err, errBodyTooSlow) || bodyTooSlow(r):
		page(w, http.StatusRequestTimeout, "The request body arrived too slowly.")
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		page(w, http.StatusGatewayTimeout, "The app did not answer in time.")
	case errors.Is(err, context.Canceled):
		w.WriteHeader(http.StatusBadGateway) // the browser has gone
	default:
		p.s.log.Info("proxy upstream error", "host", r.Host, "err", err)
		page(w, http.StatusBadGateway, "The app is not answering (it may have crashed or still be starting).")
	}
}

// page answers a browser with a short plain-text message.
func page(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s\n\n%s\n", status, http.StatusText(status), msg)
}

// statusRecorder remembers the status written, for metrics. Unwrap lets
// ReverseProxy reach the connection's Flush and Hijack.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote && code >= 200 {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Hijack hands the connection over to a protocol upgrade (WebSocket).
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.code, r.wrote = http.StatusSwitchingProtocols, true
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// proxyMetrics count requests proxied into previews.
type proxyMetrics struct {
	requests *prometheus.CounterVec
	duration prometheus.Histogram
}

func newProxyMetrics(reg prometheus.Registerer) *proxyMetrics {
	m := &proxyMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "preview_proxy_requests_total",
			Help: "Requests proxied into previews (browser proxy and POST /request) by status code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "preview_proxy_request_duration_seconds",
			Help:    "Duration of requests proxied into previews, until the response ends.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}
