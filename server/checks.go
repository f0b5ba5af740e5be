package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/cause"
	"github.com/previewd/previewd/sandbox/endpoints"
	"github.com/previewd/previewd/sandbox/framework"
)

const (
	// maxCheckRequestTimeout bounds one request of the endpoint checks
	// (below the server's request timeout when that is shorter).
	maxCheckRequestTimeout = 5 * time.Second
	// maxCheckSets is how many previews' checks run at once; each set runs
	// its requests one at a time.
	maxCheckSets = 2
	// After each request the checks wait for the lines the app printed
	// during it: until no line has come for a quiet time of twice the
	// delay with which lines arrive (the engine's log read, then the
	// database), between checkLogQuietMin and checkLogQuietMax, and at least
	// checkLogSettle; checkLogWait bounds the wait under a stream of output.
	checkLogSettle   = 15 * time.Millisecond
	checkLogQuietMin = 15 * time.Millisecond
	checkLogQuietMax = 300 * time.Millisecond
	checkLogWait     = time.Second
	// checkLogFailQuiet is the quiet time waited for after a call that
	// failed, and once more after the calls when one of them failed.
	checkLogFailQuiet = 250 * time.Millisecond
	// checkLogSlack counts a line stamped just before a request's start as
	// the request's: the engine's clock and previewd's are the host's, read
	// at slightly different moments.
	checkLogSlack = 2 * time.Millisecond
	// maxCheckLogLines is how many lines one endpoint's log keeps (the last
	// ones, where a traceback ends).
	maxCheckLogLines = 200
	// maxCheckBody is how much of a failing answer's body is kept.
	maxCheckBody = 1 << 10
	// maxSourceBytes bounds the sources read to place a cause.
	maxSourceBytes = 256 << 10
)

// endpointCheck is the result of one request of the endpoint checks.
type endpointCheck struct {
	Method      string       `json:"method"`
	Path        string       `json:"path"` // as the endpoint list has it
	URL         string       `json:"url"`  // the path and query sent
	Status      *int         `json:"status"`
	DurationMS  float64      `json:"duration_ms"`
	Error       *string      `json:"error"`
	Cause       *cause.Cause `json:"cause"`
	Log         []string     `json:"log"`
	ContentType string       `json:"content_type,omitempty"`
	Body        string       `json:"body,omitempty"` // the start of a failing answer's body
	File        string       `json:"file,omitempty"` // where the route is declared
	Line        int          `json:"line,omitempty"`
}

// failed reports whether the app did not answer or answered a server error.
func (c *endpointCheck) failed() bool { return c.Status == nil || *c.Status >= 500 }

// result is the check's label in preview_checks_total.
func (c *endpointCheck) result() string {
	switch {
	case c.Status == nil:
		return "no_answer"
	case *c.Status >= 500:
		return "server_error"
	case *c.Status >= 400:
		return "client_error"
	}
	return "ok"
}

// checker runs the checks of previews that became healthy: the endpoint
// checks, then the browser check.
type checker struct {
	s       *Server
	slots   chan struct{}
	mu      sync.Mutex // guards closed, and wg.Add against close's Wait
	closed  bool
	wg      sync.WaitGroup
	metrics *checkMetrics
	browser PageRenderer // nil: no browser on this host
	pages   *pageProxy
}

// checkMetrics count and time the checks.
type checkMetrics struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newCheckMetrics(reg prometheus.Registerer) *checkMetrics {
	m := &checkMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "preview_checks_total",
			Help: "Checks of healthy previews by result: endpoint calls (ok, client_error, server_error, no_answer) and browser pages (page_ok, page_errors, page_failed).",
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "preview_check_duration_seconds",
			Help:    "Duration of a preview's checks, by kind (endpoints, browser).",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60},
		}, []string{"kind"}),
	}
	reg.MustRegister(m.total, m.duration)
	return m
}

func newChecker(s *Server, reg prometheus.Registerer) *checker {
	return &checker{s: s, slots: make(chan struct{}, maxCheckSets), metrics: newCheckMetrics(reg), browser: s.cfg.Browser, pages: newPageProxy(s)}
}

// close waits for the checks under way, which end soon after the server
// closes, and stops the browser check's proxy.
func (ck *checker) close() {
	ck.mu.Lock()
	ck.closed = true
	ck.mu.Unlock()
	ck.wg.Wait()
	ck.pages.close()
}

// healthyHook is the launch's Healthy callback for generation g: it starts
// the checks of the preview, or records that they were skipped. nil when
// checks are off on this server.
func (s *Server) healthyHook(g db.Generation, wanted bool) func(db.Preview) {
	if s.cfg.ChecksOff {
		return nil
	}
	ck := s.checks
	return func(p db.Preview) {
		ck.mu.Lock()
		defer ck.mu.Unlock()
		if ck.closed {
			return // previewd is shutting down; the preview is not checked
		}
		ck.wg.Add(1)
		go func() { // ends when the checks are stored, or the server closes
			defer ck.wg.Done()
			if !wanted {
				ck.save(p, db.Checks{PreviewID: p.ID, Revision: p.Revision, State: db.ChecksSkipped}, nil)
				return
			}
			ck.run(s.closing, g, p)
		}()
	}
}

// reloadedHook is a reload's Healthy callback for generation g: the checks
// run again against the revision now served and replace those of the one
// before, unless the launch skipped them for this preview. nil when checks
// are off on this server.
func (s *Server) reloadedHook(g db.Generation) func(db.Preview) {
	if s.cfg.ChecksOff {
		return nil
	}
	return func(p db.Preview) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ch, err := s.store.PreviewChecks(ctx, p.ID)
		wanted := err != nil || ch.State != db.ChecksSkipped
		s.healthyHook(g, wanted)(p)
	}
}

// run checks preview p of generation g and stores what it found.
func (ck *checker) run(ctx context.Context, g db.Generation, p db.Preview) {
	select {
	case ck.slots <- struct{}{}:
		defer func() { <-ck.slots }()
	case <-ctx.Done():
		return
	}
	s := ck.s
	start := time.Now()
	g.Revision = p.Revision // the files the preview runs
	// A FastAPI app's own document lists what static parsing missed; it is
	// fetched while the files are parsed.
	var doc []byte
	fetched := make(chan struct{})
	go func() {
		defer close(fetched)
		if g.Framework == string(framework.FastAPI) {
			doc, _ = s.fetchOpenAPI(ctx, p)
		}
	}()
	res, err := s.staticResult(ctx, g)
	if err != nil {
		s.log.Warn("endpoint checks: list endpoints", "preview_id", p.ID, "err", err)
	}
	<-fetched
	if doc != nil {
		if merged, err := endpoints.MergeOpenAPI(res, doc, endpoints.DefaultLimits()); err == nil {
			res = merged
		}
	}
	max := s.cfg.CheckMax
	if max <= 0 {
		max = defaultCheckMax
	}
	checks := ck.endpoints(ctx, g, p, checkTargets(res.Endpoints, max))
	ck.metrics.duration.WithLabelValues("endpoints").Observe(time.Since(start).Seconds())
	checkedAt := time.Now().UTC()
	endpointsJSON, err := json.Marshal(checks)
	if err != nil {
		s.log.Error("endpoint checks: encode", "preview_id", p.ID, "err", err)
		return
	}
	rec := db.Checks{PreviewID: p.ID, Revision: p.Revision, State: db.ChecksDone, CheckedAt: &checkedAt, Endpoints: endpointsJSON}
	if ck.browser == nil {
		rec.Browser = json.RawMessage(`"unavailable"`)
	} else {
		rec.State = db.ChecksRunning // the browser's part follows
	}
	if !ck.save(p, rec, nil) {
		return
	}
	summary := checksSummary(checks)
	if ck.browser == nil {
		s.sandbox.Note(p.ID, "checks: "+summary)
		return
	}
	s.sandbox.Note(p.ID, "endpoint checks: "+summary)
	browser, shots := ck.browse(ctx, g, p, checks)
	rec.Browser, rec.State = browser, db.ChecksDone
	if ck.save(p, rec, shots) {
		s.sandbox.Note(p.ID, "checks: "+summary+"; browser: "+browserSummary(browser))
	}
}

// save stores a preview's checks; false when they could not be stored (the
// preview was deleted, or the database failed: logged).
func (ck *checker) save(p db.Preview, rec db.Checks, shots map[int][]byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := ck.s.store.SaveChecks(ctx, rec, shots)
	if err != nil && !errors.Is(err, db.ErrNotFound) && !errors.Is(err, db.ErrSuperseded) {
		ck.s.log.Warn("store checks", "preview_id", p.ID, "err", err)
	}
	return err == nil
}

// endpoints calls each target in turn and gathers the lines the app printed
// during each call from its log.
func (ck *checker) endpoints(ctx context.Context, g db.Generation, p db.Preview, targets []checkTarget) []endpointCheck {
	s := ck.s
	checks := make([]endpointCheck, 0, len(targets))
	if len(targets) == 0 {
		return checks
	}
	var lines checkLines
	if sub := s.sandbox.SubscribeLogs(p.ID); sub != nil {
		lines.follow(sub.C)
		defer func() {
			sub.Close()
			<-lines.done
		}()
	}
	starts := make([]time.Time, 0, len(targets))
	failed := false
	for _, t := range targets {
		if ctx.Err() != nil || !s.sandbox.Running(p.ID) {
			break
		}
		starts = append(starts, time.Now())
		c := ck.call(ctx, p, t)
		ck.metrics.total.WithLabelValues(c.result()).Inc()
		checks = append(checks, c)
		// The request's lines are in before the next request starts, so
		// the time of a line says which request printed it. A failed one
		// waits longer: its trace may come after the answer (Django logs
		// it once the error page is built), and on a busy machine it is
		// stamped late enough to fall into the next request's time.
		floor := checkLogQuietMin
		if c.failed() {
			failed = true
			floor = checkLogFailQuiet
		}
		lines.settle(ctx, floor)
	}
	if failed {
		// A trace may come after the answer and take longer to arrive
		// than an access log line; its time still places it.
		lines.settle(ctx, checkLogFailQuiet)
	}
	var sources map[string]string
	for i := range checks {
		c := &checks[i]
		end := time.Time{}
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		c.Log = lines.between(starts[i].Add(-checkLogSlack), end, maxCheckLogLines)
		if c.Status == nil || *c.Status < 500 {
			continue
		}
		if sources == nil {
			sources = ck.sources(ctx, g)
		}
		if cs, ok := cause.OfRequest(c.Log, sources); ok {
			c.Cause = &cs
		} else {
			c.Cause = &cause.Cause{Kind: cause.ServerError, File: c.File, Line: c.Line,
				Message: fmt.Sprintf("%s %s answered %d and the app printed no error trace", c.Method, c.URL, *c.Status),
				Hint:    "the route is declared at this line; log the exception in its handler, or read the answer's body"}
		}
	}
	return checks
}

// call sends one request of the checks through the same path as POST
// /request, without a session: it does not count as the user's traffic,
// so the idle timer does not see it.
func (ck *checker) call(ctx context.Context, p db.Preview, t checkTarget) endpointCheck {
	s := ck.s
	c := endpointCheck{Method: t.method, Path: t.path, URL: t.target, Log: []string{}, File: t.file, Line: t.line}
	timeout := maxCheckRequestTimeout
	if rt := s.cfg.RequestTimeout; rt > 0 && rt < timeout {
		timeout = rt
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := s.appRequest(ctx, p, appRequest{Method: t.method, Path: t.target})
	if err != nil {
		msg := err.Error()
		c.Error = &msg
		return c
	}
	req.Header.Set("User-Agent", "previewd-checks")
	start := time.Now()
	resp, err := s.proxy.client.Do(req)
	if err != nil {
		c.DurationMS = msSince(start)
		msg := upstreamError(err).message
		c.Error = &msg
		return c
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxProxyBody))
	c.DurationMS = msSince(start)
	if err != nil {
		msg := upstreamError(err).message
		c.Error = &msg
	}
	status := resp.StatusCode
	c.Status = &status
	c.ContentType = resp.Header.Get("Content-Type")
	if status >= 400 && len(body) > 0 {
		b := body[:min(len(body), maxCheckBody)]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1] // a rune cut at the limit
		}
		c.Body = string(b)
	}
	return c
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// sources reads the app's own text files, for placing a cause; nil when
// they cannot be read.
func (ck *checker) sources(ctx context.Context, g db.Generation) map[string]string {
	files, err := ck.s.store.GenerationFiles(ctx, g.ID, g.Revision)
	if err != nil {
		return map[string]string{}
	}
	out := map[string]string{}
	total := 0
	for _, f := range files {
		if total+len(f.Content) > maxSourceBytes || !utf8.Valid(f.Content) {
			continue
		}
		total += len(f.Content)
		out[f.Path] = string(f.Content)
	}
	return out
}

// checkLines gathers a preview's output lines as its log pipeline stores them.
type checkLines struct {
	mu    sync.Mutex
	lines []db.LogLine
	last  time.Time     // when the latest line arrived
	lag   time.Duration // the longest a line took to arrive since it was printed
	done  chan struct{}
}

// follow reads c until it closes.
func (l *checkLines) follow(c <-chan db.LogLine) {
	l.done = make(chan struct{})
	go func() { // ends when the subscription is closed
		defer close(l.done)
		for line := range c {
			if line.Stream != db.StreamStdout && line.Stream != db.StreamStderr {
				continue
			}
			now := time.Now()
			l.mu.Lock()
			l.lines = append(l.lines, line)
			l.last = now
			l.lag = max(l.lag, now.Sub(line.TS))
			l.mu.Unlock()
		}
	}()
}

// settle waits for the lines of the request that just ended (see
// checkLogSettle), with a quiet time of at least floor.
func (l *checkLines) settle(ctx context.Context, floor time.Duration) {
	if l.done == nil {
		return
	}
	start := time.Now()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		l.mu.Lock()
		last, quiet := l.last, max(min(max(2*l.lag, checkLogQuietMin), checkLogQuietMax), floor)
		l.mu.Unlock()
		now := time.Now()
		if now.Sub(start) >= max(checkLogWait, floor) || now.Sub(start) >= max(checkLogSettle, quiet) && now.Sub(last) >= quiet {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case <-t.C:
		}
	}
}

// between returns the text of the lines stamped in [from, to) (to zero: no
// end), the last max of them.
func (l *checkLines) between(from, to time.Time, max int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []string{}
	for _, line := range l.lines {
		if line.TS.Before(from) || !to.IsZero() && !line.TS.Before(to) {
			continue
		}
		out = append(out, line.Line)
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}
