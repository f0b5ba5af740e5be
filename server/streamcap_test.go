package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
)

// runningElsewhere stores a running preview of a new generation of user, as
// another previewd would run it: its log streams stay open, polling.
func (e *env) runningElsewhere(user string, port int) (gen, token string) {
	e.t.Helper()
	gen = e.upload(user, "fastapi")
	token = uuid.NewString()
	p := &db.Preview{ID: uuid.NewString(), GenerationID: gen, Owner: user, RunnerID: "elsewhere", Status: db.StatusRunning,
		Port: port, MemoryMB: 256, CPUs: 0.5, Pids: 256, ExpiresAt: time.Now().Add(time.Hour)}
	s := db.Session{TokenHash: sandbox.HashToken(token), PreviewID: p.ID, ExpiresAt: time.Now().Add(time.Hour)}
	if err := e.store.InsertPreview(context.Background(), p, s); err != nil {
		e.t.Fatal(err)
	}
	return gen, token
}

// openStream opens the log stream of gen as user (or with a session token
// when tok is set) and returns the answer, its body left open until cancel.
func (e *env) openCappedStream(user, gen, tok string) (*http.Response, context.CancelFunc) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := e.api.URL + "/api/v1/generations/" + gen + "/preview/logs/stream"
	if tok != "" {
		url += "?token=" + tok
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if tok == "" {
		req.Header.Set("Authorization", "Bearer "+token(e.t, user))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cancel(); resp.Body.Close() })
	return resp, cancel
}

// TestLogStreamCaps: past the cap of open log streams of a preview, or of a
// user, a stream is refused 429 too_many_requests; closing one makes room.
func TestLogStreamCaps(t *testing.T) {
	e := newEnv(t, func(_ *sandboxConfig, s *serverConfig) { s.MaxStreamsPerUser, s.MaxStreamsPerPreview = 3, 2 })
	genA, tokA := e.runningElsewhere("alice", 41001)
	genB, _ := e.runningElsewhere("alice", 41002)
	genC, _ := e.runningElsewhere("bob", 41003)
	ok := func(resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", resp.StatusCode)
		}
	}
	refused := func(resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("stream over the cap: %d", resp.StatusCode) // a stream's body would never end
		}
		raw, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(raw), `"code":"too_many_requests"`) {
			t.Fatalf("stream over the cap: %d %s", resp.StatusCode, raw)
		}
	}

	first, closeFirst := e.openCappedStream("alice", genA, "")
	ok(first)
	resp, _ := e.openCappedStream("", genA, tokA) // a session's stream counts too
	ok(resp)
	resp, _ = e.openCappedStream("alice", genA, "")
	refused(resp) // the preview's cap
	resp, _ = e.openCappedStream("alice", genB, "")
	ok(resp)
	resp, _ = e.openCappedStream("alice", genB, "")
	refused(resp) // alice's cap
	resp, _ = e.openCappedStream("bob", genC, "")
	ok(resp)

	closeFirst()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := e.openCappedStream("alice", genB, "")
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream's slot was not freed: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
