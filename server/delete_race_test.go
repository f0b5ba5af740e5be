package server_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLaunchRacingDelete runs rounds of a launch, a delete of the generation
// and a launch without waiting, all at once (each a few milliseconds apart,
// at random), on a fresh generation each round. No request may fail with
// a server error, a launch that loses to the delete answers 404, and at the
// end no container is left and every port is free. The orphan sweep's grace
// is longer than the test, so it cannot tidy up after a launch that leaks.
func TestLaunchRacingDelete(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) { c.OrphanGrace = time.Hour })
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	const workers = 4
	files := sampleFiles(t, "flask")
	var mu sync.Mutex
	seen := map[string]int{} // "request status" → count
	var failures []string
	began := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": fmt.Sprint("race-", i), "files": files})
				if r.status != http.StatusCreated {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("round %d: upload: %d %s", i, r.status, r.raw))
					mu.Unlock()
					continue
				}
				gen := r.body["id"].(string)
				calls := []struct {
					name string
					do   func() response
				}{
					{"launch", func() response { return e.launch("alice", gen, nil) }},
					{"delete", func() response { return e.call("DELETE", "/api/v1/generations/"+gen, "alice", "", nil) }},
					{"launch-nowait", func() response { return e.launch("alice", gen, map[string]any{"wait": false}) }},
				}
				var round sync.WaitGroup
				for _, c := range calls {
					round.Add(1)
					delay := time.Duration(rand.IntN(40)) * time.Millisecond
					go func() {
						defer round.Done()
						time.Sleep(delay)
						res := c.do()
						mu.Lock()
						defer mu.Unlock()
						seen[fmt.Sprint(c.name, " ", res.status)]++
						if !allowedRaceAnswer(c.name, res) {
							failures = append(failures, fmt.Sprintf("round %d: %s: %d %s", i, c.name, res.status, res.raw))
						}
					}()
				}
				round.Wait()
			}
		}()
	}
	for i := range rounds {
		next <- i
	}
	close(next)
	wg.Wait()

	var tally []string
	for k, n := range seen {
		tally = append(tally, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(tally)
	t.Logf("%d rounds in %v: %s", rounds, time.Since(began).Round(time.Second), strings.Join(tally, ", "))
	if len(failures) > 0 {
		t.Errorf("%d unexpected answers, first %q", len(failures), failures[:min(5, len(failures))])
	}
	// A launch that lost may still be tearing down what it made.
	deadline := time.Now().Add(30 * time.Second)
	for e.containers() != 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := e.containers(); n != 0 {
		t.Errorf("%d containers left after the rounds, want 0", n)
	}
	if _, _, free := e.mgr.PortRange(); free != 8 {
		t.Errorf("%d ports free after the rounds, want 8", free)
	}
	if n := e.countRows("generations"); n != 0 {
		t.Errorf("%d generations left, want 0: every delete must succeed", n)
	}
}

// allowedRaceAnswer reports whether res is a right answer to a request of
// TestLaunchRacingDelete: the delete always succeeds; a launch starts a
// preview or joins the live one (which the delete then stops), or finds the
// generation gone.
func allowedRaceAnswer(name string, res response) bool {
	switch name {
	case "delete":
		return res.status == http.StatusNoContent
	default:
		switch res.status {
		case http.StatusCreated, http.StatusAccepted, http.StatusOK:
			return true
		case http.StatusNotFound:
			return strings.Contains(string(res.raw), `"not_found"`)
		}
		return false
	}
}

// TestSweepEndsPreviewWithoutRecord: a running preview whose record is gone
// (deleted behind previewd's back) is reached by no session and stopped by
// nothing else, so the orphan sweep stops it: container removed, port free.
func TestSweepEndsPreviewWithoutRecord(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) { c.OrphanGrace = 0 })
	r := e.launch("alice", e.upload("alice", "flask"), nil)
	mustStatus(t, r, http.StatusCreated)
	port := int(r.body["port"].(float64))
	if _, err := e.sql.Exec(`DELETE FROM previews WHERE id = $1`, r.body["preview_id"]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.containers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the container of a preview without a record is still there after 20 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
	e.checkReleased(t, port)
}
