package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	id    int64
	event string
	data  string
}

// logLine is the data of a log event and an entry of GET /logs.
type logLine struct {
	Seq    int64     `json:"seq"`
	TS     time.Time `json:"ts"`
	Stream string    `json:"stream"`
	Line   string    `json:"line"`
}

func (ev sseEvent) line(t testing.TB) logLine {
	t.Helper()
	var l logLine
	if err := json.Unmarshal([]byte(ev.data), &l); err != nil {
		t.Fatalf("log event data %q: %v", ev.data, err)
	}
	return l
}

// readEvents calls fn for every event of an SSE body until fn returns false
// or the body ends.
func readEvents(body io.Reader, fn func(sseEvent) bool) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.event != "" && !fn(ev) {
				return nil
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.id, _ = strconv.ParseInt(line[4:], 10, 64)
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
	return sc.Err()
}

// openStream opens the log stream of a generation, as user (bearer token) or
// with a session token, resuming after lastID.
func (e *env) openStream(ctx context.Context, genID, user, session string, lastID int64) (*http.Response, error) {
	u := e.api.URL + "/api/v1/generations/" + genID + "/preview/logs/stream"
	if session != "" {
		u += "?token=" + url.QueryEscape(session)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(e.t, user))
	}
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("stream: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return resp, nil
}

// collect reads a whole stream from lastID until `event: end` and the close.
func (e *env) collect(ctx context.Context, genID, user, session string, lastID int64) ([]sseEvent, error) {
	resp, err := e.openStream(ctx, genID, user, session, lastID)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if h := resp.Header; h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
		return nil, fmt.Errorf("stream headers: %v", h)
	}
	var events []sseEvent
	err = readEvents(resp.Body, func(ev sseEvent) bool {
		events = append(events, ev)
		return true
	})
	if err != nil {
		return events, err
	}
	if len(events) == 0 || events[len(events)-1].event != "end" {
		return events, fmt.Errorf("the stream closed without event: end (%d events)", len(events))
	}
	return events, nil
}

func post(t testing.TB, u string) {
	t.Helper()
	resp, err := http.Post(u, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d", u, resp.StatusCode)
	}
}

// TestLogResume: while the app prints 10,000 numbered lines, clients drop
// their stream at random points and resume with Last-Event-ID, half with the
// bearer token and half with the session token; each must see every id once,
// in order, and the numbers 0..9999 in order.
func TestLogResume(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "printer")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	session := r.body["session_token"].(string)

	const clients, lines = 6, 10000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := make([]error, clients)
	reconnects := make([]int, clients)
	ready := make(chan struct{}, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			user, tok := "alice", ""
			if i%2 == 1 {
				user, tok = "", session
			}
			var last int64
			next := 0
			for first := true; next < lines; first = false {
				resp, err := e.openStream(ctx, gen, user, tok, last)
				if err != nil {
					errs[i] = err
					return
				}
				if first {
					ready <- struct{}{}
				} else {
					reconnects[i]++
				}
				budget := 1 + rng.IntN(3000)
				var bad error
				err = readEvents(resp.Body, func(ev sseEvent) bool {
					if ev.event != "log" {
						return true
					}
					if ev.id != last+1 {
						bad = fmt.Errorf("client %d: id %d after %d", i, ev.id, last)
						return false
					}
					last = ev.id
					l := ev.line(t)
					if l.Seq != ev.id {
						bad = fmt.Errorf("client %d: seq %d in event %d", i, l.Seq, ev.id)
						return false
					}
					if n, ok := strings.CutPrefix(l.Line, "n="); ok && l.Stream == "stdout" {
						if n != strconv.Itoa(next) {
							bad = fmt.Errorf("client %d: got %q, want n=%d", i, l.Line, next)
							return false
						}
						next++
					}
					budget--
					return budget > 0 && next < lines
				})
				resp.Body.Close()
				if bad != nil {
					errs[i] = bad
					return
				}
				if err != nil && ctx.Err() != nil {
					errs[i] = fmt.Errorf("client %d: timed out at n=%d: %w", i, next, err)
					return
				}
			}
		}()
	}
	for range clients {
		select {
		case <-ready:
		case <-ctx.Done():
			t.Fatal("clients did not connect")
		}
	}
	post(t, r.body["base_url"].(string)+"/print?n=10000&pause_every=100")
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	t.Logf("reconnects per client: %v", reconnects)
}

// ourGoroutines counts goroutines running previewd's own code.
func ourGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var ours []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "previewd/previewd/sandbox.") || strings.Contains(g, "previewd/previewd/server.(*Server)") {
			n++
			ours = append(ours, g)
		}
	}
	return n, strings.Join(ours, "\n\n")
}

// TestLogStreams: stdout and stderr stay apart, an over-long line is cut, the
// partial last line printed at shutdown is stored, runner events and status
// changes arrive, the stream ends with `event: end` after the stop, history
// replays after the stop and pages as JSON, authorisation holds, and no
// goroutine outlives the preview.
func TestLogStreams(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "printer")
	other := e.upload("alice", "printer")
	base, _ := ourGoroutines()

	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	session := r.body["session_token"].(string)
	logsPath := "/api/v1/generations/" + gen + "/preview/logs"

	// Authorisation: bearer or this preview's session, nothing else.
	for _, c := range []struct {
		path, user string
		want       int
	}{
		{logsPath, "", http.StatusUnauthorized},
		{logsPath + "?token=nope", "", http.StatusUnauthorized},
		{"/api/v1/generations/" + other + "/preview/logs?token=" + session, "", http.StatusNotFound},
		{logsPath, "bob", http.StatusNotFound},
		{logsPath + "/stream", "", http.StatusUnauthorized},
		{logsPath + "?token=" + session, "", http.StatusOK},
		{logsPath + "?limit=0", "alice", http.StatusBadRequest},
		{logsPath + "/stream?since=-1", "alice", http.StatusBadRequest},
	} {
		if got := e.call("GET", c.path, c.user, "", nil); got.status != c.want {
			t.Errorf("GET %s as %q: %d, want %d: %s", c.path, c.user, got.status, c.want, got.raw)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type result struct {
		events []sseEvent
		err    error
	}
	live := make(chan result, 1)
	go func() {
		ev, err := e.collect(ctx, gen, "", session, 0)
		live <- result{ev, err}
	}()

	post(t, r.body["base_url"].(string)+"/mixed")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(string(e.call("GET", logsPath+"?limit=10000", "alice", "", nil).raw), "mixed-done") {
		if time.Now().After(deadline) {
			t.Fatal("the app's output never reached GET /logs")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
	res := <-live
	if res.err != nil {
		t.Fatal(res.err)
	}

	var logs []logLine
	var statuses []string
	for _, ev := range res.events {
		switch ev.event {
		case "log":
			l := ev.line(t)
			if l.Seq != int64(len(logs)+1) || ev.id != l.Seq {
				t.Fatalf("event id %d seq %d at position %d", ev.id, l.Seq, len(logs))
			}
			logs = append(logs, l)
		case "status":
			var s struct{ Status string }
			json.Unmarshal([]byte(ev.data), &s)
			statuses = append(statuses, s.Status)
		}
	}
	if end := res.events[len(res.events)-1]; !strings.Contains(end.data, `"stopped"`) {
		t.Errorf("end event %q, want status stopped", end.data)
	}
	if len(statuses) == 0 || statuses[len(statuses)-1] != "stopped" {
		t.Errorf("status events %v, want them to end with stopped", statuses)
	}
	byStream := map[string][]string{}
	for _, l := range logs {
		byStream[l.Stream] = append(byStream[l.Stream], l.Line)
	}
	cut := strings.Repeat("L", 16<<10) + " …[truncated]"
	wantIn := map[string][]string{
		"stdout": {"out-0", "out-1", "out-2", "out-3", "out-4", cut, "mixed-done", "partial-last-line"},
		"stderr": {"err-0", "err-1", "err-2", "err-3", "err-4"},
	}
	for stream, want := range wantIn {
		if i := subsequence(byStream[stream], want); i >= 0 {
			t.Errorf("%s lacks %.60q (in order)", stream, want[i])
		}
	}
	for _, l := range byStream["stdout"] {
		if strings.HasPrefix(l, "err-") {
			t.Errorf("stderr line %q on stdout", l)
		}
	}
	if sys := byStream["system"]; len(sys) < 3 || sys[0] != "starting (fastapi)" ||
		!strings.HasPrefix(sys[1], "healthy: the app answers HTTP (launch took ") || sys[len(sys)-1] != "stopped" {
		t.Errorf("system lines %q", sys)
	}
	if logs[len(logs)-1].Line != "stopped" {
		t.Errorf("last line %q, want the stop", logs[len(logs)-1].Line)
	}

	// After the stop: resume from an id replays the rest and ends.
	again, err := e.collect(ctx, gen, "alice", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	var replayed []int64
	for _, ev := range again {
		if ev.event == "log" {
			replayed = append(replayed, ev.id)
		}
	}
	if len(replayed) != len(logs)-3 || replayed[0] != 4 {
		t.Errorf("resume after id 3 gave %d lines from %v, want %d from 4", len(replayed), replayed[:min(1, len(replayed))], len(logs)-3)
	}

	// GET /logs pages through the same lines.
	var paged []logLine
	for since := int64(0); ; {
		page := e.call("GET", fmt.Sprintf("%s?since=%d&limit=7", logsPath, since), "alice", "", nil)
		mustStatus(t, page, http.StatusOK)
		var body struct {
			Lines     []logLine `json:"lines"`
			NextSince int64     `json:"next_since"`
		}
		if err := json.Unmarshal(page.raw, &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Lines) == 0 {
			if body.NextSince != since {
				t.Errorf("empty page: next_since %d, want %d", body.NextSince, since)
			}
			break
		}
		paged = append(paged, body.Lines...)
		since = body.NextSince
	}
	if len(paged) != len(logs) {
		t.Fatalf("paged %d lines, streamed %d", len(paged), len(logs))
	}
	for i := range paged {
		if paged[i].Seq != logs[i].Seq || paged[i].Line != logs[i].Line || paged[i].Stream != logs[i].Stream || !paged[i].TS.Equal(logs[i].TS) {
			t.Fatalf("paged line %d %+v, streamed %+v", i, paged[i], logs[i])
		}
	}

	metrics := string(e.call("GET", "/metrics", "", "", nil).raw)
	for _, want := range []string{`preview_log_lines_total{stream="stderr"}`, `preview_log_lines_total{stream="system"}`, "preview_sse_clients 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	http.DefaultClient.CloseIdleConnections()
	deadline = time.Now().Add(10 * time.Second)
	for {
		n, stacks := ourGoroutines()
		if n <= base {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of previewd's goroutines after the stop, %d before the launch:\n%s", n, base, stacks)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// subsequence returns -1 when want appears in got in order, else the index of
// the first element of want it could not find.
func subsequence(got, want []string) int {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i == len(want) {
		return -1
	}
	return i
}

// TestLogCrash: the traceback of an app that crashes at import reaches the
// log, on stderr, before the failure event and `event: end`.
func TestLogCrash(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "crash")
	mustStatus(t, e.launch("alice", gen, nil), http.StatusUnprocessableEntity)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := e.collect(ctx, gen, "alice", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	traceback, failed := -1, -1
	for i, ev := range events {
		if ev.event != "log" {
			continue
		}
		l := ev.line(t)
		switch {
		case l.Stream == "stderr" && strings.Contains(l.Line, "RuntimeError: boom on import"):
			traceback = i
		case l.Stream == "system" && strings.HasPrefix(l.Line, "failed: "):
			failed = i
		}
	}
	if traceback < 0 || failed < traceback {
		t.Fatalf("traceback at %d, failure event at %d: %v", traceback, failed, events)
	}
	if !strings.Contains(events[len(events)-1].data, `"failed"`) {
		t.Errorf("end %q, want status failed", events[len(events)-1].data)
	}
}

// TestLogAcrossRestart: after previewd restarts and adopts a running preview,
// its log continues from the stored seq, and a client resumes with its last
// id with no gap and no duplicate.
func TestLogAcrossRestart(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "printer")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// waitFor reads the stream from after until a stdout line equal to want,
	// returning the ids it saw.
	waitFor := func(after int64, want string) []int64 {
		t.Helper()
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		resp, err := e.openStream(sctx, gen, "alice", "", after)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ids []int64
		found := false
		readEvents(resp.Body, func(ev sseEvent) bool {
			if ev.event != "log" {
				return true
			}
			ids = append(ids, ev.id)
			l := ev.line(t)
			found = l.Stream == "stdout" && l.Line == want
			return !found
		})
		if !found {
			t.Fatalf("%q never arrived", want)
		}
		return ids
	}
	post(t, base+"/mark?tag=before")
	before := waitFor(0, "mark before")
	last := before[len(before)-1]

	e.stop()
	e.start()
	post(t, base+"/mark?tag=after")
	after := waitFor(last, "mark after")
	for i, id := range after {
		if id != last+1+int64(i) {
			t.Fatalf("after the restart: ids %v, want them to follow %d", after, last)
		}
	}
	lines, err := e.store.Logs(ctx, r.body["preview_id"].(string), last, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0].Line, "previewd restarted") {
		t.Errorf("first line after the restart: %+v", lines)
	}
}
