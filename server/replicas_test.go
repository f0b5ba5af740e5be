package server_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestLogStreamAcrossReplicas: two previewds on one database; the preview
// runs on a, its log is streamed from b. b never reads the store on a timer
// here (its poll is an hour), so every line must reach it through the
// notice a's stored batch sends.
func TestLogStreamAcrossReplicas(t *testing.T) {
	requireInfra(t, true)
	a := newEnv(t)
	b := newEnvOn(t, a.url, func(_ *sandboxConfig, s *serverConfig) { s.LogPoll = time.Hour })
	gen := a.upload("alice", "printer")
	r := a.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := b.streamLines(ctx, gen, "mark ")
	for i := range 5 {
		post(t, base+"/mark?tag="+strconv.Itoa(i))
		want := "mark " + strconv.Itoa(i)
		deadline := time.After(60 * time.Second)
		for got := ""; got != want; {
			select {
			case got = <-seen:
				if got > want {
					t.Fatalf("stream on the other previewd: got %q before %q", got, want)
				}
			case <-deadline:
				t.Fatalf("stream on the other previewd: no %q within a minute", want)
			}
		}
	}
}
