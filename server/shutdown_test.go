package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestShutdownEndsLogStreams checks that closing the server ends an open log
// stream at once with a final `event: shutdown` (not `end`: the preview still
// runs and the client resumes against the next previewd).
func TestShutdownEndsLogStreams(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "flask")
	mustStatus(t, e.launch("alice", gen, nil), http.StatusCreated)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := e.openStream(ctx, gen, "alice", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	go func() {
		time.Sleep(500 * time.Millisecond)
		e.srv.Close()
	}()
	var events []string
	if err := readEvents(resp.Body, func(ev sseEvent) bool {
		events = append(events, ev.event)
		return true
	}); err != nil {
		// Without Close ending it, the stream would run until ctx ends.
		t.Fatalf("reading the stream: %v", err)
	}
	if len(events) == 0 || events[len(events)-1] != "shutdown" {
		t.Fatalf("last events %v, want a final shutdown", events)
	}
}
