package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
)

const (
	// sseKeepAlive is how often an idle stream gets a comment line.
	sseKeepAlive = 15 * time.Second
	// logPollInterval is how often a stream reads the store for a preview
	// whose log this process does not hold (another previewd runs it), with
	// no notices of stored lines; logPollWithNotices, with them.
	logPollInterval    = 250 * time.Millisecond
	logPollWithNotices = 5 * time.Second
	// logPage is how many stored lines one query reads.
	logPage = 1000
	// maxLogLimit is the largest ?limit= of GET /logs.
	maxLogLimit = 10000
)

const sessionPreviewKey = "previewd.session_preview"

// logRoutes registers GET …/preview/logs and …/logs/stream. They sit outside
// the /api/v1 group because they take a session token (?token=) as well as
// the bearer token: a browser's EventSource cannot set headers.
func (s *Server) logRoutes(r *gin.Engine) {
	logs := r.Group("/api/v1/generations/:id/preview/logs", s.authenticateLogs)
	logs.GET("", s.logs)
	logs.GET("/stream", s.streamLogs)
}

func newSSEClients(reg prometheus.Registerer) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "preview_sse_clients",
		Help: "Log streams (server-sent events) open now.",
	})
	reg.MustRegister(g)
	return g
}

// authenticateLogs accepts the bearer token, or a live session token of a
// preview of the generation in the path.
func (s *Server) authenticateLogs(c *gin.Context) {
	tok := c.Query("token")
	if tok == "" || c.GetHeader("Authorization") != "" {
		s.authenticate(c)
		return
	}
	p, err := s.store.SessionPreview(c.Request.Context(), sandbox.HashToken(tok))
	if errors.Is(err, db.ErrNotFound) {
		s.abort(c, &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "a valid bearer token or session token is required"})
		return
	}
	if err != nil {
		s.abort(c, err)
		return
	}
	if p.GenerationID != c.Param("id") {
		s.abort(c, &apiError{status: http.StatusNotFound, code: "not_found", message: "generation not found"})
		return
	}
	c.Set(sessionPreviewKey, p)
	c.Next()
}

// logPreview is the preview whose log is asked for: the session's, or the
// generation's latest.
func (s *Server) logPreview(c *gin.Context) (db.Preview, bool) {
	if v, ok := c.Get(sessionPreviewKey); ok {
		return v.(db.Preview), true
	}
	return s.latestPreview(c)
}

// logs answers stored lines as JSON: GET …/logs?since=&limit=.
func (s *Server) logs(c *gin.Context) {
	since, err := seqParam(c.Query("since"))
	if err != nil {
		s.abort(c, badRequest("since must be a non-negative integer"))
		return
	}
	limit := logPage
	if v := c.Query("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 || limit > maxLogLimit {
			s.abort(c, badRequest(fmt.Sprintf("limit must be between 1 and %d", maxLogLimit)))
			return
		}
	}
	p, ok := s.logPreview(c)
	if !ok {
		return
	}
	lines, err := s.store.Logs(c.Request.Context(), p.ID, since, limit)
	if err != nil {
		s.abort(c, err)
		return
	}
	next := since
	for i := range lines {
		lines[i].TS = lines[i].TS.UTC()
		next = lines[i].Seq
	}
	c.JSON(http.StatusOK, gin.H{"preview_id": p.ID, "status": p.Status, "lines": lines, "next_since": next})
}

func seqParam(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("bad seq")
	}
	return n, nil
}

// streamLogs serves the log as server-sent events: stored lines after
// Last-Event-ID (or ?since=), then live ones, then `event: end` once the
// preview has ended and every line was sent.
func (s *Server) streamLogs(c *gin.Context) {
	resume := c.GetHeader("Last-Event-ID")
	if resume == "" {
		resume = c.Query("since")
	}
	last, err := seqParam(resume)
	if err != nil {
		s.abort(c, badRequest("Last-Event-ID and since must be a non-negative integer"))
		return
	}
	p, ok := s.logPreview(c)
	if !ok {
		return
	}
	release, err := s.streams.acquire(p.Owner, p.ID)
	if err != nil {
		s.abort(c, err)
		return
	}
	defer release()
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	// A stream outlives any server write timeout; servers without one
	// answer ErrNotSupported, which is fine.
	http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{})
	c.Writer.WriteHeader(http.StatusOK)
	c.Writer.Flush()

	s.sseClients.Inc()
	defer s.sseClients.Dec()
	out := &sseWriter{w: c.Writer}
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	defer context.AfterFunc(s.closing, cancel)()
	err = s.followLogs(ctx, out, p.ID, last)
	if s.closing.Err() != nil {
		// previewd is shutting down: say so; the client reconnects to the
		// next previewd and resumes after the last id it saw.
		out.event("shutdown", map[string]string{"reason": "previewd is restarting"})
		return
	}
	if err != nil && c.Request.Context().Err() == nil {
		s.log.Warn("log stream ended early", "request_id", requestID(c), "preview_id", p.ID, "err", err)
	}
}

// followLogs writes the log of a preview after seq last until the preview has
// ended and everything was sent, or ctx ends.
//
// Each round subscribes first and reads the store second: a line stored in
// between arrives both ways and the copy with seq <= last is skipped, so
// nothing is missed and nothing is sent twice. A subscriber that falls behind
// is let go by the pipeline and starts a new round.
func (s *Server) followLogs(ctx context.Context, out *sseWriter, previewID string, last int64) error {
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	status, checked := "", ""
	var revs *revisionState // nil until the first look
	checkStatus := func() (db.Preview, error) {
		p, err := s.store.Preview(ctx, previewID)
		if err != nil {
			return p, err
		}
		if revs != nil {
			if ev, ok := revisionEvent(*revs, p); ok {
				if err := out.event("revision", ev); err != nil {
					return p, err
				}
			}
		}
		st := revisionStateOf(p)
		revs = &st
		if p.Status != status {
			status = p.Status
			ev := map[string]any{"status": status}
			if c := causeJSON(p); c != nil {
				ev["cause"] = c
			}
			if err := out.event("status", ev); err != nil {
				return p, err
			}
		}
		return p, s.checksEvent(ctx, out, p, &checked)
	}
	// stored wakes the stream when another previewd stores lines of the
	// preview; nil without notices.
	var stored <-chan struct{}
	if s.cfg.LogNotices != nil {
		ch, stop := s.cfg.LogNotices.Wait(previewID)
		defer stop()
		stored = ch
	}
	for {
		sub := s.sandbox.SubscribeLogs(previewID)
		if sub == nil {
			// Not held here: the preview has ended (its log is complete in
			// the store once its status is final) or another previewd runs it.
			// Waiting starts before the store is read, so that no notice
			// falls between the read and the wait.
			p, err := checkStatus()
			if err != nil {
				return err
			}
			if last, err = s.replay(ctx, out, previewID, last); err != nil {
				return err
			}
			if !p.Live() {
				return out.event("end", map[string]string{"status": p.Status})
			}
			if err := s.awaitStored(ctx, out, keepAlive, stored); err != nil || ctx.Err() != nil {
				return err
			}
			continue
		}
		var err error
		last, err = s.followLive(ctx, out, sub, previewID, last, keepAlive, checkStatus)
		sub.Close()
		if err != nil || ctx.Err() != nil {
			return err
		}
		if sub.Lagging() {
			continue // caught up from the store in the next round
		}
		// The log ended. It is complete in the store once the status is
		// final; a preview still live means this previewd is shutting down,
		// and the client resumes against the next one.
		p, err := checkStatus()
		if err != nil {
			return err
		}
		if last, err = s.replay(ctx, out, previewID, last); err != nil {
			return err
		}
		if p.Live() {
			return nil
		}
		return out.event("end", map[string]string{"status": p.Status})
	}
}

// awaitStored waits until stored says that lines of the preview were
// stored, or LogPoll has passed, keeping the stream alive meanwhile.
func (s *Server) awaitStored(ctx context.Context, out *sseWriter, keepAlive *time.Ticker, stored <-chan struct{}) error {
	poll := time.NewTimer(s.cfg.LogPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-keepAlive.C:
			if err := out.comment("keep-alive"); err != nil {
				return err
			}
		case <-stored:
			return nil
		case <-poll.C:
			return nil
		}
	}
}

// followLive sends stored lines after last, then the subscription's lines,
// until the subscription closes.
func (s *Server) followLive(ctx context.Context, out *sseWriter, sub *sandbox.LogSubscription, previewID string, last int64,
	keepAlive *time.Ticker, checkStatus func() (db.Preview, error)) (int64, error) {
	if _, err := checkStatus(); err != nil {
		return last, err
	}
	last, err := s.replay(ctx, out, previewID, last)
	if err != nil {
		return last, err
	}
	for {
		select {
		case <-ctx.Done():
			return last, nil
		case <-keepAlive.C:
			if err := out.comment("keep-alive"); err != nil {
				return last, err
			}
			if _, err := checkStatus(); err != nil {
				return last, err
			}
		case l, ok := <-sub.C:
			if !ok {
				return last, nil
			}
			if l.Seq <= last {
				continue
			}
			if l.Seq > last+1 {
				// Never expected (the subscription starts before the replay),
				// but a gap is filled from the store rather than passed on.
				if last, err = s.replayTo(ctx, out, previewID, last, l.Seq-1); err != nil {
					return last, err
				}
			}
			if err := out.log(l, len(sub.C) == 0); err != nil {
				return last, err
			}
			last = l.Seq
			if l.Stream == db.StreamSystem {
				if _, err := checkStatus(); err != nil {
					return last, err
				}
			}
		}
	}
}

// replay sends every stored line after last and returns the last seq sent.
func (s *Server) replay(ctx context.Context, out *sseWriter, previewID string, last int64) (int64, error) {
	return s.replayTo(ctx, out, previewID, last, -1)
}

// replayTo sends stored lines after last up to seq upTo (no bound when negative).
func (s *Server) replayTo(ctx context.Context, out *sseWriter, previewID string, last, upTo int64) (int64, error) {
	for {
		lines, err := s.store.Logs(ctx, previewID, last, logPage)
		if err != nil {
			return last, err
		}
		for i, l := range lines {
			if upTo >= 0 && l.Seq > upTo {
				return last, out.flush()
			}
			if err := out.log(l, i == len(lines)-1); err != nil {
				return last, err
			}
			last = l.Seq
		}
		if len(lines) < logPage {
			return last, nil
		}
	}
}

// sseWriter writes server-sent events.
type sseWriter struct {
	w gin.ResponseWriter
}

func (s *sseWriter) log(l db.LogLine, flush bool) error {
	l.TS = l.TS.UTC()
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "id: %d\nevent: log\ndata: %s\n\n", l.Seq, data); err != nil {
		return err
	}
	if flush {
		return s.flush()
	}
	return nil
}

func (s *sseWriter) event(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return err
	}
	return s.flush()
}

func (s *sseWriter) comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return err
	}
	return s.flush()
}

func (s *sseWriter) flush() error {
	return http.NewResponseController(s.w).Flush()
}
