package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Defaults of the request body floor, those of Apache's mod_reqtimeout
// (body=20,MinRate=500) made a little stricter on the grace period.
const (
	defaultBodyGrace   = 10 * time.Second
	defaultBodyMinRate = 500
)

// errBodyTooSlow is a request body that arrived slower than the floor.
var errBodyTooSlow = &apiError{status: http.StatusRequestTimeout, code: "request_timeout",
	message: "the request body arrived too slowly"}

// limitBodyRate gives a request with a body a read deadline that moves with
// the body: the client has cfg.BodyGrace for free, and each byte it sends earns
// it 1/cfg.BodyMinRate seconds more. A global http.Server ReadTimeout would cut
// long uploads, log streams and WebSockets alike; this cuts only a client that
// trickles its body, and the time the handler spends not reading (while the
// app behind the proxy is busy, say) is not held against the client.
//
// It returns the request to serve and a function to call when the handler
// has returned.
func (s *Server) limitBodyRate(w http.ResponseWriter, r *http.Request) (*http.Request, func()) {
	if s.cfg.BodyMinRate <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 ||
		r.Header.Get("Upgrade") != "" {
		// An upgraded connection is hijacked and must not keep a deadline.
		return r, func() {}
	}
	b := &rateBody{body: r.Body, rc: http.NewResponseController(w), grace: s.cfg.BodyGrace, rate: s.cfg.BodyMinRate}
	// Armed now, so that a body the handler never reads (a request refused
	// before it is read) is still only waited for so long when the server
	// discards it.
	b.rc.SetReadDeadline(time.Now().Add(b.grace))
	// A copy: handlers must not modify the server's request.
	r2 := r.WithContext(context.WithValue(r.Context(), rateBodyKey{}, b))
	r2.Body = b
	return r2, b.handlerDone
}

// rateBody is a request body read under a deadline that follows its progress.
type rateBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	grace time.Duration
	rate  int64 // bytes per second

	mu     sync.Mutex
	read   int64         // bytes read so far
	waited time.Duration // time spent waiting for them
	done   bool          // the handler has returned: rc is not ours any more
	eof    bool
	slow   bool // the deadline passed
}

type rateBodyKey struct{}

// bodyTooSlow reports whether r's body was cut for arriving too slowly. The
// proxy asks: the cut also cancels the request, and its transport may report
// that rather than the body's error.
func bodyTooSlow(r *http.Request) bool {
	b, ok := r.Context().Value(rateBodyKey{}).(*rateBody)
	if !ok {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.slow
}

func (b *rateBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if !b.done && !b.eof {
		earned := b.grace + time.Duration(float64(b.read)/float64(b.rate)*float64(time.Second))
		b.rc.SetReadDeadline(time.Now().Add(earned - b.waited))
	}
	b.mu.Unlock()

	start := time.Now()
	n, err := b.body.Read(p)

	b.mu.Lock()
	defer b.mu.Unlock()
	b.read += int64(n)
	b.waited += time.Since(start)
	if err == io.EOF && !b.eof {
		b.eof = true
		// The server now reads the connection in the background to notice a
		// client that goes away; a deadline left armed would cancel the
		// request while the handler is still at work.
		if !b.done {
			b.rc.SetReadDeadline(time.Time{})
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		b.slow = true
		return n, errBodyTooSlow
	}
	return n, err
}

func (b *rateBody) Close() error { return b.body.Close() }

func (b *rateBody) handlerDone() {
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
}
