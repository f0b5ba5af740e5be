package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSSEReader(t *testing.T) {
	stream := ": hello\n\n" +
		"id: 1\nevent: log\ndata: {\"seq\": 1}\n\n" +
		"event: status\r\ndata: {\"status\": \"running\"}\r\n\r\n" + // CRLF
		"data: first\ndata: second\n\n" + // no event name: "message"; keeps id 1
		"id: 7\revent: log\rdata:no-space\r\r" + // lone CR
		"event: ignored-no-data\n\n" +
		"retry: 1000\nunknown: x\nevent: end\ndata: {}\n\n" +
		"event: cut\ndata: never dispatched" // no blank line at the end
	r := newSSEReader(strings.NewReader(stream))
	want := []sseEvent{
		{ID: "1", Name: "log", Data: `{"seq": 1}`},
		{ID: "1", Name: "status", Data: `{"status": "running"}`},
		{ID: "1", Name: "message", Data: "first\nsecond"},
		{ID: "7", Name: "log", Data: "no-space"},
		{ID: "7", Name: "end", Data: "{}"},
	}
	for i, w := range want {
		got, err := r.next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got != w {
			t.Errorf("event %d: %+v, want %+v", i, got, w)
		}
	}
	if ev, err := r.next(); err != io.EOF {
		t.Errorf("after the last event: %+v, %v; want io.EOF", ev, err)
	}
}

// sseLog is a fake log stream of n lines that drops the connection after
// every dropEvery lines, checking that each reconnect resumes with
// Last-Event-ID after the last line sent; it ends with `event: end`.
type sseLog struct {
	t         *testing.T
	n         int
	dropEvery int
	shutdown  bool // say `event: shutdown` before the first drop

	mu       sync.Mutex
	resumes  []string // Last-Event-ID of each connection
	sentUpTo int
}

func (s *sseLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := r.Header.Get("Last-Event-ID")
	s.resumes = append(s.resumes, last)
	from := 0
	if last != "" {
		from, _ = strconv.Atoi(last)
	}
	if from != s.sentUpTo {
		s.t.Errorf("resumed after %d, but %d lines were sent", from, s.sentUpTo)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "event: status\ndata: {\"status\": \"running\"}\n\n: keep-alive\n\n")
	sent := 0
	for seq := from + 1; seq <= s.n; seq++ {
		if sent == s.dropEvery {
			if s.shutdown && len(s.resumes) == 1 {
				fmt.Fprint(w, "event: shutdown\ndata: {\"reason\": \"previewd is restarting\"}\n\n")
			}
			// Half an event, then the connection drops.
			fmt.Fprintf(w, "id: %d\nevent: log\n", seq)
			return
		}
		stream := []string{"stdout", "stderr", "build", "system"}[seq%4]
		fmt.Fprintf(w, "id: %d\nevent: log\ndata: {\"seq\": %d, \"ts\": \"2024-05-01T10:00:00Z\", \"stream\": %q, \"line\": \"line %d\"}\n\n", seq, seq, stream, seq)
		s.sentUpTo = seq
		sent++
	}
	fmt.Fprint(w, "event: status\ndata: {\"status\": \"stopped\"}\n\nevent: end\ndata: {\"status\": \"stopped\"}\n\n")
}

func (s *sseLog) resumed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.resumes...)
}

func TestFollowResumes(t *testing.T) {
	for _, shutdown := range []bool{false, true} {
		t.Run(fmt.Sprintf("shutdown=%v", shutdown), func(t *testing.T) {
			f := newFakeAPI(t)
			log := &sseLog{t: t, n: 10, dropEvery: 4, shutdown: shutdown}
			f.mux.Handle("GET /api/v1/generations/g1/preview/logs/stream", log)
			c, _ := newClient(f.URL, "test-token")
			var got []int64
			var statuses []string
			retries := 0
			fl := &logFollower{client: c, gen: "g1", maxRetries: 3, backoff: []time.Duration{time.Millisecond},
				onLine:   func(l logLine) { got = append(got, l.Seq) },
				onStatus: func(s string) { statuses = append(statuses, s) },
				onRetry:  func(error, int) { retries++ },
			}
			status, err := fl.follow(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if status != "stopped" {
				t.Errorf("final status %q", status)
			}
			for i, seq := range got {
				if seq != int64(i+1) {
					t.Fatalf("lines %v: want 1..10 once each, in order", got)
				}
			}
			if len(got) != 10 {
				t.Errorf("got %d lines, want 10", len(got))
			}
			wantResumes := "|4|8"
			if r := strings.Join(log.resumed(), "|"); r != wantResumes {
				t.Errorf("Last-Event-ID per connection %q, want %q", r, wantResumes)
			}
			if retries != 2 {
				t.Errorf("%d retries, want 2", retries)
			}
			if statuses[len(statuses)-1] != "stopped" {
				t.Errorf("statuses %v", statuses)
			}
		})
	}
}

func TestFollowResumesFromSince(t *testing.T) {
	f := newFakeAPI(t)
	log := &sseLog{t: t, n: 5, dropEvery: 100, sentUpTo: 3}
	f.mux.Handle("GET /api/v1/generations/g1/preview/logs/stream", log)
	c, _ := newClient(f.URL, "test-token")
	var got []int64
	fl := &logFollower{client: c, gen: "g1", last: 3, onLine: func(l logLine) { got = append(got, l.Seq) }}
	if _, err := fl.follow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[4 5]" || log.resumed()[0] != "3" {
		t.Errorf("lines %v, Last-Event-ID %q", got, log.resumed())
	}
}

func TestFollowGivesUp(t *testing.T) {
	t.Run("not found is final", func(t *testing.T) {
		f := newFakeAPI(t)
		f.mux.HandleFunc("GET /api/v1/generations/g1/preview/logs/stream", func(w http.ResponseWriter, r *http.Request) {
			apiErr(w, http.StatusNotFound, "not_found", "this generation has never had a preview", nil)
		})
		c, _ := newClient(f.URL, "test-token")
		fl := &logFollower{client: c, gen: "g1", onLine: func(logLine) {}}
		_, err := fl.follow(context.Background())
		if exitCode(err) != exitNotFound {
			t.Errorf("error %v, exit code %d", err, exitCode(err))
		}
		if n := f.callCount(); n != 1 {
			t.Errorf("%d calls, want 1 (no retry)", n)
		}
	})
	t.Run("retries are bounded", func(t *testing.T) {
		f := newFakeAPI(t)
		f.mux.HandleFunc("GET /api/v1/generations/g1/preview/logs/stream", func(w http.ResponseWriter, r *http.Request) {
			apiErr(w, http.StatusServiceUnavailable, "unavailable", "a dependency of previewd is unreachable", nil)
		})
		c, _ := newClient(f.URL, "test-token")
		fl := &logFollower{client: c, gen: "g1", maxRetries: 2, backoff: []time.Duration{time.Millisecond}, onLine: func(logLine) {}}
		_, err := fl.follow(context.Background())
		if err == nil || exitCode(err) != exitUnavailable || f.callCount() != 3 {
			t.Errorf("error %v after %d calls", err, f.callCount())
		}
	})
	t.Run("silence ends a connection", func(t *testing.T) {
		f := newFakeAPI(t)
		var calls atomic.Int32
		f.mux.HandleFunc("GET /api/v1/generations/g1/preview/logs/stream", func(w http.ResponseWriter, r *http.Request) {
			n := calls.Add(1)
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			if n == 1 {
				<-r.Context().Done() // says nothing, not even a keep-alive
				return
			}
			fmt.Fprint(w, "event: end\ndata: {\"status\": \"expired\"}\n\n")
		})
		c, _ := newClient(f.URL, "test-token")
		var retryErr error
		fl := &logFollower{client: c, gen: "g1", idle: 100 * time.Millisecond, backoff: []time.Duration{time.Millisecond},
			onLine: func(logLine) {}, onRetry: func(err error, _ int) { retryErr = err }}
		status, err := fl.follow(context.Background())
		if err != nil || status != "expired" {
			t.Fatalf("status %q, error %v", status, err)
		}
		if retryErr == nil || !strings.Contains(retryErr.Error(), "sent nothing for 100ms") {
			t.Errorf("retry because of %v", retryErr)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		f := newFakeAPI(t)
		f.mux.HandleFunc("GET /api/v1/generations/g1/preview/logs/stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "id: 1\nevent: log\ndata: {\"seq\": 1, \"stream\": \"stdout\", \"line\": \"x\"}\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		c, _ := newClient(f.URL, "test-token")
		ctx, cancel := context.WithCancel(context.Background())
		fl := &logFollower{client: c, gen: "g1", onLine: func(logLine) { cancel() }}
		if _, err := fl.follow(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}

func TestLogPrinter(t *testing.T) {
	var b strings.Builder
	p := &logPrinter{w: &b}
	for _, l := range []logLine{{Stream: "stdout", Line: "out"}, {Stream: "stderr", Line: "err"}, {Stream: "build", Line: "pip"},
		{Stream: "system", Line: "healthy"}, {Stream: "stdout"}} {
		p.print(l)
	}
	want := "stdout | out\nstderr | err\nbuild  | pip\nsystem | healthy\nstdout |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	p.color = true
	p.print(logLine{Stream: "stderr", Line: "err"})
	if b.String() != "\x1b[31mstderr |\x1b[0m err\n" {
		t.Errorf("coloured: %q", b.String())
	}
}
