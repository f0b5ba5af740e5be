package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	ID   string // the last event id in effect, as the spec defines it
	Name string // "message" when the event names none
	Data string
}

// sseReader parses a text/event-stream body
// (https://html.spec.whatwg.org/multipage/server-sent-events.html).
type sseReader struct {
	sc     *bufio.Scanner
	lastID string
}

// maxSSELine bounds one line of the stream; previewd caps log lines far below.
const maxSSELine = 4 << 20

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxSSELine)
	sc.Split(scanSSELines)
	return &sseReader{sc: sc}
}

// scanSSELines splits at CRLF, LF or a lone CR.
func scanSSELines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		// A CR: one more byte tells CRLF from a lone CR.
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		if atEOF {
			return i + 1, data[:i], nil
		}
		return 0, nil, nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// next returns the next event; io.EOF when the stream ended between events.
// A stream that ends in the middle of an event drops that event, as a
// browser does.
func (r *sseReader) next() (sseEvent, error) {
	var (
		name string
		data strings.Builder
		has  bool // a data field was seen
	)
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if !has {
				name = ""
				continue
			}
			if name == "" {
				name = "message"
			}
			return sseEvent{ID: r.lastID, Name: name, Data: strings.TrimSuffix(data.String(), "\n")}, nil
		}
		if line[0] == ':' {
			continue // a comment: keep-alive
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			has = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				r.lastID = value
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF
}

// logFollower follows a preview's log over SSE and resumes with
// Last-Event-ID after a dropped connection, so no line is lost or repeated.
type logFollower struct {
	client *client
	gen    string
	// last is the seq of the last line passed on; the stream resumes after it.
	last int64
	// onLine receives each line once, in order.
	onLine func(logLine)
	// onStatus, when set, receives each status event.
	onStatus func(string)
	// onRetry, when set, hears about a dropped stream before the retry.
	onRetry func(err error, attempt int)
	// maxRetries bounds reconnects in a row that bring no new event; zero
	// means no bound.
	maxRetries int
	// backoff is the pause before reconnect n (1-based); the last value
	// repeats. Tests shorten it.
	backoff []time.Duration
	// idle ends a connection that sends nothing, not even the keep-alive
	// comment previewd sends every 15 s, for this long.
	idle time.Duration
}

var defaultBackoff = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}

// errStreamDropped is a stream that ended without `event: end`.
var errStreamDropped = errors.New("the log stream closed before the preview ended")

// errStreamRestart is previewd saying it is restarting (`event: shutdown`).
var errStreamRestart = errors.New("previewd is restarting")

// follow passes on the log until the preview has ended and all of it was
// sent, returning the final status, or until ctx ends (returning ctx.Err()).
func (f *logFollower) follow(ctx context.Context) (string, error) {
	backoff := f.backoff
	if len(backoff) == 0 {
		backoff = defaultBackoff
	}
	failures := 0
	for {
		status, progressed, err := f.once(ctx)
		if err == nil {
			return status, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if !retryable(err) {
			return "", err
		}
		if progressed {
			failures = 0
		}
		failures++
		if f.maxRetries > 0 && failures > f.maxRetries {
			return "", fmt.Errorf("log stream: gave up after %d attempts: %w", failures, err)
		}
		if f.onRetry != nil {
			f.onRetry(err, failures)
		}
		pause := backoff[min(failures, len(backoff))-1]
		if errors.Is(err, errStreamRestart) {
			pause = backoff[0]
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(pause):
		}
	}
}

// badStreamError is a stream previewd should not have sent; reconnecting
// would bring the same again.
type badStreamError struct{ error }

func (e *badStreamError) Unwrap() error { return e.error }

// retryable reports errors after which reconnecting may help: anything but
// an answer that will not change (a 4xx: not found, no access) or a stream
// that makes no sense.
func retryable(err error) bool {
	var bad *badStreamError
	if errors.As(err, &bad) {
		return false
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == http.StatusTooManyRequests
	}
	return true
}

// once reads one connection of the stream. progressed reports whether it
// brought any event.
func (f *logFollower) once(ctx context.Context) (status string, progressed bool, err error) {
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := f.client.openLogStream(connCtx, f.gen, f.last)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	idle := f.idle
	if idle <= 0 {
		idle = 45 * time.Second
	}
	watchdog := time.AfterFunc(idle, cancel)
	defer watchdog.Stop()
	r := newSSEReader(&activity{r: resp.Body, touch: func() { watchdog.Reset(idle) }})
	for {
		ev, err := r.next()
		if err != nil {
			if ctx.Err() != nil {
				return "", progressed, ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				err = errStreamDropped
			} else if connCtx.Err() != nil {
				err = fmt.Errorf("the log stream sent nothing for %s", idle)
			}
			return "", progressed, err
		}
		progressed = true
		switch ev.Name {
		case "log":
			var l logLine
			if err := json.Unmarshal([]byte(ev.Data), &l); err != nil {
				return "", progressed, &badStreamError{fmt.Errorf("the log stream sent a bad log event %q: %w", ev.Data, err)}
			}
			if l.Seq == 0 {
				l.Seq, _ = strconv.ParseInt(ev.ID, 10, 64)
			}
			if l.Seq != 0 && l.Seq <= f.last {
				continue // already passed on before a reconnect
			}
			f.last = l.Seq
			f.onLine(l)
		case "status":
			if f.onStatus != nil {
				f.onStatus(statusOf(ev.Data))
			}
		case "end":
			return statusOf(ev.Data), progressed, nil
		case "shutdown":
			return "", progressed, errStreamRestart
		}
	}
}

// statusOf reads {"status": "..."}.
func statusOf(data string) string {
	var v struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(data), &v)
	return v.Status
}

// activity calls touch after every read that brought bytes.
type activity struct {
	r     io.Reader
	touch func()
}

func (a *activity) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err
}
