package server_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/server"
)

// faultPlan fails the next container step it is armed for, once.
type faultPlan struct {
	mu    sync.Mutex
	armed string
	fired map[string]int
}

func (f *faultPlan) arm(step string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = step
}

func (f *faultPlan) fail(step string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.armed != step {
		return nil
	}
	f.armed = ""
	f.fired[step]++
	return errors.New("injected by the test")
}

// TestFaultInjectionCycles runs 300 launch/stop cycles with a failure
// injected into container create, start or the health check every fifth
// cycle (the warm pool's own creates and starts take some of them). Every
// launch ends in a running preview or a clean error, and afterwards ports,
// containers and records are back where they started.
func TestFaultInjectionCycles(t *testing.T) {
	requireInfra(t, true)
	faults := &faultPlan{fired: map[string]int{}}
	e := newEnv(t, withWarmPool(1), func(c *sandbox.Config, _ *server.Config) { c.Fault = faults.fail })
	e.waitWarm(1)
	gen := e.upload("alice", "express")
	steps := []string{"create", "start", "health"}
	const cycles = 300
	results := map[int]int{}
	warm := 0
	start := time.Now()
	for i := range cycles {
		if i%5 == 4 {
			faults.arm(steps[(i/5)%len(steps)])
		}
		r := e.launch("alice", gen, nil)
		results[r.status]++
		switch r.status {
		case http.StatusCreated:
			if r.body["warm"] == true {
				warm++
			}
			if i%25 == 0 {
				if code, body := get(t, r.body["base_url"].(string)+"/"); code != 200 {
					t.Fatalf("cycle %d: base_url answered %d %q", i, code, body)
				}
			}
		case http.StatusUnprocessableEntity, http.StatusInternalServerError:
			// The injected failure, reported as a failed launch.
		default:
			t.Fatalf("cycle %d: launch answered %d %s", i, r.status, r.raw)
		}
		mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
	}
	faults.arm("")
	t.Logf("%d cycles in %s: answers %v, %d warm; faults fired %v", cycles, time.Since(start).Round(time.Second), results, warm, faults.fired)
	if results[http.StatusCreated] < cycles/2 {
		t.Errorf("only %d of %d launches succeeded", results[http.StatusCreated], cycles)
	}
	if faults.fired["health"] == 0 || faults.fired["create"]+faults.fired["start"] == 0 {
		t.Errorf("the faults did not all fire: %v", faults.fired)
	}

	// The pool refills; then exactly its two containers and ports are held.
	e.waitWarm(1)
	deadline := time.Now().Add(30 * time.Second)
	for e.containers() != 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := e.containers(); n != 2 {
		t.Errorf("%d containers after the cycles, want the 2 pooled", n)
	}
	cfg := e.call("GET", "/api/v1/config", "alice", "", nil)
	if free, size := cfg.body["ports_free"], float64(e.portEnd-e.portStart+1); free != size-2 {
		t.Errorf("ports_free %v, want %v (all but the 2 pooled)", free, size-2)
	}
	var live int
	if err := e.sql.QueryRow(`SELECT count(*) FROM previews WHERE status IN ('starting', 'running')`).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 0 {
		t.Errorf("%d previews still live in the database", live)
	}
}
