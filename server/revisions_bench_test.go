package server_test

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks of updates in place. They print their figures; run:
//
//	go test ./server -run '^$' -bench Reload -benchtime 1x -timeout 60m

// reloadBench is a running preview of one sample app and how to patch it.
type reloadBench struct {
	e       *env
	tc      reloadCase
	gen     string
	id      string
	base    string
	token   string
	version int
}

func startReloadBench(b *testing.B, e *env, tc reloadCase) *reloadBench {
	b.Helper()
	rb := &reloadBench{e: e, tc: tc, gen: e.upload("bench", tc.sample)}
	r := e.launch("bench", rb.gen, nil)
	mustStatus(b, r, http.StatusCreated)
	rb.id, rb.base, rb.token = r.body["preview_id"].(string), r.body["base_url"].(string), r.body["session_token"].(string)
	b.Cleanup(func() { e.call("DELETE", "/api/v1/generations/"+rb.gen+"/preview", "bench", "", nil) })
	return rb
}

// patch sends the next version (broken when asked) and returns the answer.
func (rb *reloadBench) patch(broken bool) response {
	rb.version++
	return rb.e.patch("bench", rb.gen, map[string]any{"files": rb.tc.versionFiles(rb.e.t, rb.version, broken)})
}

func (rb *reloadBench) marker(v int) string { return fmt.Sprintf("%s, revision %d", rb.tc.greeting, v) }

// waitServes polls base_url until it answers with want, and returns when.
func waitServes(b *testing.B, url, want string) time.Time {
	b.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := client.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), want) {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s never answered %q", url, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func percentileMS(ms []float64, p float64) float64 {
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// BenchmarkReloadLatency: one changed file of each sample app, from the
// patch's send to base_url answering the new version, 20 updates after a
// first one (which starts the standby preloader); against a stop and a
// fresh warm launch of the same revision, 5 times, in the same run.
func BenchmarkReloadLatency(b *testing.B) {
	requireInfra(b, true)
	for _, tc := range reloadCases {
		b.Run(tc.sample, func(b *testing.B) {
			e := newEnv(b, withWarmPool(1))
			rb := startReloadBench(b, e, tc)
			first := time.Now()
			mustStatus(b, rb.patch(false), http.StatusOK)
			firstMS := float64(waitServes(b, rb.base+"/", rb.marker(rb.version)).Sub(first).Milliseconds())
			var reloads []float64
			for range 20 {
				time.Sleep(300 * time.Millisecond) // an editor's pace, not a loop's
				t := time.Now()
				mustStatus(b, rb.patch(false), http.StatusOK)
				reloads = append(reloads, float64(waitServes(b, rb.base+"/", rb.marker(rb.version)).Sub(t).Microseconds())/1000)
			}
			var relaunches []float64
			for range 5 {
				e.waitWarm(1)
				t := time.Now()
				mustStatus(b, e.call("DELETE", "/api/v1/generations/"+rb.gen+"/preview", "bench", "", nil), http.StatusOK)
				r := e.launch("bench", rb.gen, nil)
				mustStatus(b, r, http.StatusCreated)
				rb.base = r.body["base_url"].(string)
				relaunches = append(relaunches, float64(waitServes(b, rb.base+"/", rb.marker(rb.version)).Sub(t).Microseconds())/1000)
			}
			p50, p99, rl := percentileMS(reloads, 0.5), percentileMS(reloads, 0.99), percentileMS(relaunches, 0.5)
			b.ReportMetric(p50, "reload-p50-ms")
			b.ReportMetric(p99, "reload-p99-ms")
			b.ReportMetric(firstMS, "first-reload-ms")
			b.ReportMetric(rl, "stop+warm-launch-p50-ms")
			b.ReportMetric(p50/rl, "reload/relaunch")
			b.Logf("%s: reload p50 %.1f ms, p99 %.1f ms (first %.0f ms); stop + warm launch p50 %.1f ms; ratio %.2f; reloads %v; relaunches %v",
				tc.sample, p50, p99, firstMS, rl, p50/rl, reloads, relaunches)
		})
	}
}

// proxyLoad sends requests back to back through the browser proxy and
// checks each answer against the versions that may serve it.
type proxyLoad struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	accept       []string // versions an answer may come from
	wrong        []string
}

func (pl *proxyLoad) allow(markers ...string) {
	pl.mu.Lock()
	pl.accept = markers
	pl.mu.Unlock()
}

func (pl *proxyLoad) run(e *env, rb *reloadBench, stop <-chan struct{}) {
	client := &http.Client{Timeout: 15 * time.Second}
	for {
		select {
		case <-stop:
			return
		default:
		}
		pl.mu.Lock()
		accept := pl.accept
		pl.mu.Unlock()
		// Path routing, with the session in the address.
		req, _ := http.NewRequest(http.MethodGet, e.api.URL+"/p/"+rb.id+"/~"+rb.token+"/", nil)
		pl.sent.Add(1)
		resp, err := client.Do(req)
		if err != nil {
			pl.failed.Add(1)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok := false
		for _, m := range accept {
			ok = ok || strings.Contains(string(body), m)
		}
		switch {
		case resp.StatusCode != http.StatusOK:
			pl.failed.Add(1)
		case !ok:
			pl.mu.Lock()
			pl.wrong = append(pl.wrong, fmt.Sprintf("%d %.80q (accepting %q)", resp.StatusCode, body, accept))
			pl.mu.Unlock()
		}
	}
}

// BenchmarkReloadUnderLoad: 20 updates in a row while a client sends
// requests back to back through the browser proxy; every answer must be
// the old or the new version, only the new one once the patch answered,
// and none may fail.
func BenchmarkReloadUnderLoad(b *testing.B) {
	requireInfra(b, true)
	for _, tc := range reloadCases {
		b.Run(tc.sample, func(b *testing.B) {
			e := newEnv(b)
			rb := startReloadBench(b, e, tc)
			mustStatus(b, rb.patch(false), http.StatusOK) // starts the standby
			pl := &proxyLoad{accept: []string{rb.marker(rb.version)}}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); pl.run(e, rb, stop) }()
			for range 20 {
				time.Sleep(200 * time.Millisecond)
				pl.allow(rb.marker(rb.version), rb.marker(rb.version+1))
				mustStatus(b, rb.patch(false), http.StatusOK)
				pl.allow(rb.marker(rb.version))
			}
			time.Sleep(200 * time.Millisecond)
			close(stop)
			<-done
			b.ReportMetric(float64(pl.sent.Load()), "requests")
			b.ReportMetric(float64(pl.failed.Load()), "failed")
			b.ReportMetric(float64(len(pl.wrong)), "wrong-version")
			b.Logf("%s: %d requests during 20 updates, %d failed, %d from a version that should not answer %v",
				tc.sample, pl.sent.Load(), pl.failed.Load(), len(pl.wrong), pl.wrong[:min(len(pl.wrong), 5)])
		})
	}
}

// BenchmarkReloadAlternating: 50 updates alternating good and broken. The
// preview never stops serving, the container's memory after them is
// compared with its memory after the first update, and the log must hold
// every update's line in order.
func BenchmarkReloadAlternating(b *testing.B) {
	requireInfra(b, true)
	for _, tc := range reloadCases {
		b.Run(tc.sample, func(b *testing.B) {
			e := newEnv(b)
			rb := startReloadBench(b, e, tc)
			memory := func() float64 {
				time.Sleep(3 * time.Second) // retired versions gone, a fresh stats sample
				st := e.call("GET", "/api/v1/generations/"+rb.gen+"/preview/status", "bench", "", nil)
				m, _ := st.body["memory_bytes"].(float64)
				return m
			}
			mustStatus(b, rb.patch(false), http.StatusOK)
			before := memory()
			pl := &proxyLoad{}
			good := rb.version
			pl.allow(rb.marker(good))
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); pl.run(e, rb, stop) }()
			for i := range 50 {
				broken := i%2 == 0
				pl.allow(rb.marker(good), rb.marker(rb.version+1))
				r := rb.patch(broken)
				want := http.StatusOK
				if broken {
					want = http.StatusUnprocessableEntity
				} else {
					good = rb.version
				}
				mustStatus(b, r, want)
				pl.allow(rb.marker(good))
			}
			close(stop)
			<-done
			after := memory()
			logs := e.call("GET", "/api/v1/generations/"+rb.gen+"/preview/logs?limit=5000", "bench", "", nil)
			var seen []string
			for _, l := range logs.body["lines"].([]any) {
				line := l.(map[string]any)["line"].(string)
				if strings.Contains(line, " live in ") || strings.Contains(line, " failed after ") {
					seen = append(seen, line)
				}
			}
			inOrder := len(seen) == 51
			for i := 0; inOrder && i < 51; i++ {
				inOrder = strings.HasPrefix(seen[i], fmt.Sprintf("revision %d ", i+2))
			}
			b.ReportMetric(after/before, "memory-after/after-first")
			b.ReportMetric(float64(pl.failed.Load()), "failed")
			b.ReportMetric(float64(len(pl.wrong)), "wrong-version")
			b.Logf("%s: memory %.1f MiB after the first update, %.1f MiB after 50 more (%.2fx); %d requests, %d failed, %d wrong version; %d update lines, in order: %v",
				tc.sample, before/(1<<20), after/(1<<20), after/before, pl.sent.Load(), pl.failed.Load(), len(pl.wrong), len(seen), inOrder)
			if !inOrder {
				b.Logf("update lines: %q", seen)
			}
		})
	}
}
