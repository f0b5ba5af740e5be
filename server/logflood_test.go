package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestLogFlood: an app prints long numbered lines as fast as it can for 20 s
// under small caps. The stored log stays under its caps of lines and bytes
// and keeps the newest lines, in order (the engine's follow stream repeats
// lines around rotations; none may be stored twice), system lines say how
// many were dropped, previewd's heap stays bounded, and another preview's
// stream keeps delivering its lines promptly. It prints what it measured,
// including the lines the engine lost when its json log rotated under a
// reader behind it.
func TestLogFlood(t *testing.T) {
	requireInfra(t, true)
	const maxLines, maxBytes = 20_000, 2 << 20
	// One insert carries at most an eighth of a cap: the slack allowed.
	const slackLines, slackBytes = maxLines / 8, maxBytes / 8
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) {
		c.LogMaxLines, c.LogStoreBytes = maxLines, maxBytes
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The quiet preview, its stream open before the flood starts.
	quietGen := e.upload("alice", "printer")
	rq := e.launch("alice", quietGen, nil)
	mustStatus(t, rq, http.StatusCreated)
	quietBase := rq.body["base_url"].(string)
	arrived := make(chan string, 1024)
	quietResp, err := e.openStream(ctx, quietGen, "alice", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer quietResp.Body.Close()
	go readEvents(quietResp.Body, func(ev sseEvent) bool {
		if ev.event == "log" {
			if l := ev.line(t); l.Stream == "stdout" && strings.HasPrefix(l.Line, "mark ") {
				arrived <- strings.TrimPrefix(l.Line, "mark ")
			}
		}
		return true
	})

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapAlloc

	floodGen := e.upload("alice", "flood")
	rf := e.launch("alice", floodGen, nil)
	mustStatus(t, rf, http.StatusCreated)
	floodID := rf.body["preview_id"].(string)
	floodBase := rf.body["base_url"].(string)

	// Samplers, until stopSampling: previewd's heap, and what is stored.
	var peakHeap atomic.Uint64
	var peakLines, peakBytes atomic.Int64
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Add(2)
	go func() {
		defer sampling.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peakHeap.Load() {
				peakHeap.Store(ms.HeapAlloc)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	go func() {
		defer sampling.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			lines, bytes := e.storedLog(floodID)
			peakLines.Store(max(peakLines.Load(), lines))
			peakBytes.Store(max(peakBytes.Load(), bytes))
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	// A client of the flood's own stream, reading as fast as it can: it lags
	// and is caught up from the store.
	floodEvents := atomic.Int64{}
	var streamedNotices []string // read only after the DELETE: the stream has ended then
	floodDone := make(chan struct{})
	floodResp, err := e.openStream(ctx, floodGen, "alice", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer floodResp.Body.Close()
	go func() {
		defer close(floodDone)
		readEvents(floodResp.Body, func(ev sseEvent) bool {
			if ev.event == "log" {
				floodEvents.Add(1)
				var l logLine
				if json.Unmarshal([]byte(ev.data), &l) == nil && l.Stream == "system" && strings.Contains(l.Line, "dropped") {
					streamedNotices = append(streamedNotices, l.Line)
				}
			}
			return true
		})
	}()

	// While the flood runs, the quiet preview prints a mark every 250 ms and
	// its stream must deliver each promptly.
	var latencies []time.Duration
	for k := 0; ; k++ {
		var st struct {
			Printed int64 `json:"printed"`
			Done    bool  `json:"done"`
		}
		_, body := get(t, floodBase+"/count")
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("flood /count: %q: %v", body, err)
		}
		if st.Done {
			break
		}
		tag := strconv.Itoa(k)
		sent := time.Now()
		post(t, quietBase+"/mark?tag="+tag)
		select {
		case got := <-arrived:
			if got != tag {
				t.Fatalf("mark %s arrived, want %s", got, tag)
			}
			latencies = append(latencies, time.Since(sent))
		case <-time.After(10 * time.Second):
			t.Fatalf("mark %s of the quiet preview took over 10 s to arrive during the flood", tag)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// The flood is over; wait for previewd to read the engine's log to its end.
	received := func() int64 { return e.metric("preview_log_lines_total", "stdout") }
	for prev, stable := int64(-1), 0; stable < 4; time.Sleep(500 * time.Millisecond) {
		if n := received(); n == prev {
			stable++
		} else {
			prev, stable = n, 0
		}
	}
	_, body := get(t, floodBase+"/count")
	var st struct{ Printed int64 }
	json.Unmarshal([]byte(body), &st)
	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+floodGen+"/preview", "alice", "", nil), http.StatusOK)
	close(stopSampling)
	sampling.Wait()
	select {
	case <-floodDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the flood's stream did not end after the stop")
	}

	// Stored: under the caps, newest kept, drops told.
	lines, err := e.store.Logs(ctx, floodID, 0, maxLines+slackLines+10)
	if err != nil {
		t.Fatal(err)
	}
	var bytes int64
	var nums []int64
	var notices []string
	for _, l := range lines {
		bytes += int64(len(l.Line))
		switch {
		case l.Stream == "stdout" && strings.HasPrefix(l.Line, "flood n="):
			n, _ := strconv.ParseInt(strings.Fields(l.Line)[1][2:], 10, 64)
			nums = append(nums, n)
		case l.Stream == "system" && strings.Contains(l.Line, "dropped"):
			notices = append(notices, l.Line)
		}
	}
	if peakLines.Load() > maxLines+slackLines || peakBytes.Load() > maxBytes+slackBytes {
		t.Errorf("stored up to %d lines and %d bytes, caps %d and %d", peakLines.Load(), peakBytes.Load(), maxLines, maxBytes)
	}
	if int64(len(lines)) > maxLines+slackLines || bytes > maxBytes+slackBytes {
		t.Errorf("stored %d lines and %d bytes at the end, caps %d and %d", len(lines), bytes, maxLines, maxBytes)
	}
	// The periodic notices are soon dropped themselves in a flood; the
	// stream's client saw them go by, and the final count stays.
	last := lines[len(lines)-1].Line
	periodic := 0
	for _, n := range streamedNotices {
		if strings.HasPrefix(n, "log limit of 20000 lines or 2.0 MiB reached: ") && strings.HasSuffix(n, " older lines dropped so far") {
			periodic++
		}
	}
	if periodic < 2 || !strings.HasSuffix(last, "older lines were dropped over the log limit of 20000 lines or 2.0 MiB") {
		t.Errorf("notices streamed %q; stored %q; last line %q", streamedNotices, notices, last)
	}
	if len(nums) == 0 || nums[len(nums)-1] != st.Printed-1 {
		t.Errorf("the newest line is not kept: last stored n=%v, printed %d", nums[max(0, len(nums)-1):], st.Printed)
	}
	dropped := int64(0)
	fmt.Sscanf(last, "%d older lines", &dropped)

	// Lost in the engine: printed but never read, and the holes this leaves
	// in the stored (newest) window.
	quietStdout := int64(len(latencies))
	got := received() - quietStdout
	var holes, holeLines, backwards int64
	var jumps []string
	for i := 1; i < len(nums); i++ {
		switch d := nums[i] - nums[i-1] - 1; {
		case d > 0:
			holes++
			holeLines += d
			jumps = append(jumps, fmt.Sprintf("%d→%d", nums[i-1], nums[i]))
		case d < 0:
			backwards++
			jumps = append(jumps, fmt.Sprintf("%d→%d", nums[i-1], nums[i]))
		}
	}

	if backwards > 0 {
		t.Errorf("the stored window steps back %d times (lines stored twice): %v", backwards, jumps)
	}
	if heap := peakHeap.Load(); heap > baseHeap+heapBound {
		t.Errorf("previewd's heap reached %.1f MiB, %.1f MiB over the %.1f MiB before the flood; bound %.0f MiB",
			mib(heap), mib(heap-baseHeap), mib(baseHeap), mib(heapBound))
	}
	slices.Sort(latencies)
	if len(latencies) < 10 {
		t.Fatalf("only %d marks sent during the flood", len(latencies))
	}
	p50, p99, worst := latencies[len(latencies)/2], latencies[len(latencies)*99/100], latencies[len(latencies)-1]
	if worst > time.Second {
		t.Errorf("the quiet preview's lines took up to %v to arrive during the flood", worst)
	}

	t.Logf("flood: printed %d lines (%.0f lines/s, %.1f MiB/s); previewd read %d (%.0f lines/s), lost in the engine %d (%.1f%%)",
		st.Printed, float64(st.Printed)/20, float64(st.Printed)*200/20/(1<<20), got, float64(got)/20,
		st.Printed-got, 100*float64(st.Printed-got)/float64(max(st.Printed, 1)))
	t.Logf("stored: peak %d lines / %.2f MiB, at the end %d lines / %.2f MiB (caps %d / %.0f MiB); %d lines dropped, %d drop notices streamed",
		peakLines.Load(), mib(uint64(peakBytes.Load())), len(lines), mib(uint64(bytes)), maxLines, mib(maxBytes), dropped, periodic)
	t.Logf("stored window n=%d..%d: %d holes with %d lines missing, %d steps back (lines stored twice): %v",
		nums[0], nums[len(nums)-1], holes, holeLines, backwards, jumps)
	t.Logf("heap: %.1f MiB before, peak %.1f MiB (+%.1f MiB; bound +%.0f MiB)",
		mib(baseHeap), mib(peakHeap.Load()), mib(peakHeap.Load()-baseHeap), mib(heapBound))
	t.Logf("quiet preview during the flood: %d marks, latency p50 %v, p99 %v, max %v; flood stream client got %d events",
		len(latencies), p50, p99, worst, floodEvents.Load())
}

// heapBound is how much previewd's heap may grow during one preview's flood:
// the pipeline holds at most 4 MiB of queued and batched lines (the ingest
// budget), the insert encodes one batch of at most 256 KiB here into arrays
// (about twice its size), the flood's stream client holds a 1024-line
// subscription buffer and 1000-line replay pages (~0.25 MiB each), and the
// docker client reads with small buffers: about 6 MiB live. HeapAlloc also
// counts garbage not yet collected, up to as much again with GOGC=100, and
// this test process runs the clients too: 32 MiB leaves room for that while
// catching any queue that grows with the flood (it printed hundreds of MiB).
const heapBound = 32 << 20

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// storedLog counts the stored lines of a preview and their bytes.
func (e *env) storedLog(previewID string) (lines, bytes int64) {
	e.t.Helper()
	err := e.sql.QueryRow(`SELECT count(*), COALESCE(sum(octet_length(line)), 0) FROM preview_logs WHERE preview_id = $1`,
		previewID).Scan(&lines, &bytes)
	if err != nil {
		e.t.Error(err)
	}
	return lines, bytes
}

// metric reads a counter of the env's registry by its one label's value.
func (e *env) metric(name, label string) int64 {
	e.t.Helper()
	mfs, err := prometheus.Gatherer(e.reg).Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return int64(m.GetCounter().GetValue())
			}
		}
	}
	return 0
}
