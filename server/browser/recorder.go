package browser

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
)

// recorder gathers a tab's events. Its event method runs on the tab's
// reading loop and must not block.
type recorder struct {
	mu         sync.Mutex
	console    []ConsoleMessage
	exceptions []Exception
	failed     []FailedRequest
	requests   map[network.RequestID]*network.Request
	inflight   int
	lastChange time.Time
}

func newRecorder() *recorder {
	return &recorder{requests: map[network.RequestID]*network.Request{}, lastChange: time.Now()}
}

func (r *recorder) event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		level := ""
		switch e.Type {
		case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeAssert:
			level = "error"
		case runtime.ConsoleAPICalledTypeWarning:
			level = "warning"
		default:
			return
		}
		m := ConsoleMessage{Level: level, Text: clip(argsText(e.Args))}
		if e.StackTrace != nil && len(e.StackTrace.CallFrames) > 0 {
			f := e.StackTrace.CallFrames[0]
			m.URL, m.Line = f.URL, int(f.LineNumber)+1
		}
		r.console = add(r.console, m)
	case *cdplog.EventEntryAdded:
		// The browser's own messages: failed loads, CSP and mixed-content
		// refusals, deprecations.
		en := e.Entry
		if en == nil {
			return
		}
		level := ""
		switch en.Level {
		case cdplog.EntryLevelError:
			level = "error"
		case cdplog.EntryLevelWarning:
			level = "warning"
		default:
			return
		}
		r.console = add(r.console, ConsoleMessage{Level: level, Text: clip(en.Text), URL: en.URL, Line: int(en.LineNumber)})
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		if d == nil {
			return
		}
		x := Exception{Message: d.Text, URL: d.URL, Line: int(d.LineNumber) + 1, Column: int(d.ColumnNumber) + 1}
		if d.Exception != nil && d.Exception.Description != "" {
			desc := d.Exception.Description
			first, stack, _ := strings.Cut(desc, "\n")
			x.Message, x.Stack = clip(first), clip(stack)
		}
		if d.StackTrace != nil && len(d.StackTrace.CallFrames) > 0 && x.URL == "" {
			x.URL = d.StackTrace.CallFrames[0].URL
		}
		r.exceptions = add(r.exceptions, x)
	case *network.EventRequestWillBeSent:
		if _, known := r.requests[e.RequestID]; !known {
			r.inflight++
		}
		r.requests[e.RequestID] = e.Request
		r.lastChange = time.Now()
	case *network.EventResponseReceived:
		if e.Response != nil && e.Response.Status >= 400 && !browserOwn(e) {
			method := ""
			if req := r.requests[e.RequestID]; req != nil {
				method = req.Method
			}
			r.failed = add(r.failed, FailedRequest{URL: e.Response.URL, Method: method, Status: int(e.Response.Status)})
		}
	case *network.EventLoadingFinished:
		r.done(e.RequestID)
	case *network.EventLoadingFailed:
		if req := r.requests[e.RequestID]; req != nil {
			msg := e.ErrorText
			if e.BlockedReason != "" {
				msg += " (blocked: " + string(e.BlockedReason) + ")"
			}
			if e.CorsErrorStatus != nil {
				msg += " (CORS: " + string(e.CorsErrorStatus.CorsError) + ")"
			}
			r.failed = add(r.failed, FailedRequest{URL: req.URL, Method: req.Method, Error: msg})
		}
		r.done(e.RequestID)
	}
}

// browserOwn reports whether a response answers a request the browser made
// of its own accord, not the page: the favicon it asks every site for.
func browserOwn(e *network.EventResponseReceived) bool {
	if e.Type != network.ResourceTypeOther && e.Type != "" {
		return false
	}
	u, err := url.Parse(e.Response.URL)
	return err == nil && u.Path == "/favicon.ico"
}

// done counts a request as ended; r.mu is held.
func (r *recorder) done(id network.RequestID) {
	if _, ok := r.requests[id]; ok {
		delete(r.requests, id)
		r.inflight--
	}
	r.lastChange = time.Now()
}

// settle waits until no request has been under way for settleQuiet, at
// most settleMax, or ctx ends.
func (r *recorder) settle(ctx context.Context) {
	start := time.Now()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		r.mu.Lock()
		quiet := r.inflight <= 0 && time.Since(r.lastChange) >= settleQuiet
		r.mu.Unlock()
		if quiet || time.Since(start) >= settleMax {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *recorder) results() ([]ConsoleMessage, []Exception, []FailedRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return nonNil(r.console), nonNil(r.exceptions), nonNil(r.failed)
}

func add[T any](list []T, v T) []T {
	if len(list) >= maxEntries {
		return list
	}
	return append(list, v)
}

func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return append([]T(nil), list...)
}

// argsText joins a console call's arguments as the console shows them.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == nil:
		case a.Type == runtime.RemoteObjectTypeString:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			}
		case a.Description != "":
			parts = append(parts, a.Description)
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		case a.UnserializableValue != "":
			parts = append(parts, string(a.UnserializableValue))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func ptr[T any](v T) *T { return &v }

func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	return s[:maxText] + "…"
}
