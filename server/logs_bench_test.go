package server_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// streamLines opens the generation's log stream and sends the lines of its
// stdout that start with prefix to the returned channel.
func (e *env) streamLines(ctx context.Context, genID, prefix string) <-chan string {
	e.t.Helper()
	resp, err := e.openStream(ctx, genID, "alice", "", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	lines := make(chan string, 4096)
	go func() {
		defer resp.Body.Close()
		readEvents(resp.Body, func(ev sseEvent) bool {
			if ev.event == "log" {
				if l := ev.line(e.t); l.Stream == "stdout" && strings.HasPrefix(l.Line, prefix) {
					lines <- l.Line
				}
			}
			return true
		})
	}()
	return lines
}

func percentile(d []time.Duration, p float64) float64 {
	slices.Sort(d)
	return float64(d[int(float64(len(d)-1)*p)].Microseconds()) / 1000
}

// BenchmarkLogFirstLine measures how soon a line the app prints reaches an
// SSE client: from sending the request that makes the app print it (an upper
// bound: it includes the request's trip into the container), and from the
// app's answer, which it sends after printing (a lower bound).
func BenchmarkLogFirstLine(b *testing.B) {
	requireInfra(b, true)
	e := newEnv(b)
	benchFirstLine(b, e, e)
}

// BenchmarkLogFirstLineOtherReplica is BenchmarkLogFirstLine with the
// client on another previewd than the one running the preview: the lines
// reach it through the store and a notice (LISTEN/NOTIFY), never a timer.
func BenchmarkLogFirstLineOtherReplica(b *testing.B) {
	requireInfra(b, true)
	a := newEnv(b)
	other := newEnvOn(b, a.url, func(_ *sandboxConfig, s *serverConfig) { s.LogPoll = time.Hour })
	benchFirstLine(b, a, other)
}

// benchFirstLine runs the printer app on runs and streams its log from
// streams.
func benchFirstLine(b *testing.B, runs, streams *env) {
	gen := runs.upload("alice", "printer")
	r := runs.launch("alice", gen, nil)
	mustStatus(b, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := streams.streamLines(ctx, gen, "mark ")
	client := &http.Client{Timeout: 10 * time.Second}
	fromRequest := make([]time.Duration, 0, b.N)
	fromAnswer := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		want := "mark " + strconv.Itoa(i)
		start := time.Now()
		resp, err := client.Post(base+"/mark?tag="+strconv.Itoa(i), "application/json", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		answered := time.Now()
		for line := range seen {
			if line == want {
				break
			}
		}
		fromRequest = append(fromRequest, time.Since(start))
		fromAnswer = append(fromAnswer, time.Since(answered))
	}
	b.StopTimer()
	b.ReportMetric(percentile(fromRequest, 0.5), "request-p50-ms")
	b.ReportMetric(percentile(fromRequest, 0.99), "request-p99-ms")
	b.ReportMetric(percentile(fromAnswer, 0.5), "answer-p50-ms")
	b.ReportMetric(percentile(fromAnswer, 0.99), "answer-p99-ms")
}

// BenchmarkLogIngest measures lines per second stored and delivered to an
// SSE client, with the app printing 20,000 lines as fast as it can. The
// engine's log is made large: the engine's follow stream (Docker 20.10) skips
// lines when the json-file log rotates under a reader that is behind.
func BenchmarkLogIngest(b *testing.B) {
	requireInfra(b, true)
	e := newEnv(b, func(c *sandboxConfig, _ *serverConfig) {
		c.LogMaxLines = 10_000_000
		c.LogMaxBytes = 1 << 30
	})
	gen := e.upload("alice", "printer")
	r := e.launch("alice", gen, nil)
	mustStatus(b, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := e.streamLines(ctx, gen, "n=")
	const n = 20000
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		post(b, base+"/print?n="+strconv.Itoa(n)+"&pause_every=0")
		got := 0
		for line := range seen {
			if line != "n="+strconv.Itoa(got) {
				b.Fatalf("iteration %d: got %q, want n=%d", i, line, got)
			}
			if got++; got == n {
				break
			}
		}
		total += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "lines/s")
}
