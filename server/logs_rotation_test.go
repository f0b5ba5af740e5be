package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLogRotation: an app prints 20,000 numbered lines at up to 2,000 a
// second, a rate previewd keeps up with even under load, into an engine log
// so small that it rotates about five times a second. Docker 20.10's follow stream repeats
// entries around rotations (and may stall); every number must still be
// stored exactly once, in order.
func TestLogRotation(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) {
		c.LogMaxBytes = 64 << 10 // files of 32 KiB: about 420 lines each
	})
	gen := e.upload("alice", "printer")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	previewID := r.body["preview_id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const n = 20000
	start := time.Now()
	post(t, r.body["base_url"].(string)+"/print?n="+strconv.Itoa(n)+"&pause_every=20")
	e.waitStored(ctx, previewID, "n="+strconv.Itoa(n-1))
	took := time.Since(start)
	next, missing, repeated := 0, 0, 0
	var jumps []string
	for _, l := range e.allLogs(ctx, previewID) {
		num, ok := strings.CutPrefix(l.Line, "n=")
		if l.Stream != "stdout" || !ok {
			continue
		}
		k, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("line %q", l.Line)
		}
		if k != next && len(jumps) < 20 {
			jumps = append(jumps, fmt.Sprintf("n=%d after n=%d (seq %d)", k, next-1, l.Seq))
		}
		switch {
		case k < next:
			repeated++
		case k > next:
			missing += k - next
		}
		next = max(next, k+1)
	}
	t.Logf("%d lines in %v (%.0f lines/s): %d missing, %d repeated", n, took.Round(time.Millisecond), n/took.Seconds(), missing, repeated)
	if missing > 0 || repeated > 0 {
		t.Errorf("%d lines missing, %d repeated: %v", missing, repeated, jumps)
	}
}
