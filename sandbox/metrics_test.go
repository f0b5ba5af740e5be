package sandbox

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend/fake"
)

// series counts the registry's series: all of them, those of one metric
// family, and those with a preview_id label.
type series struct {
	total, perPreview int
	byName            map[string]int
	values            map[string]float64 // unlabelled gauges, by name
	previewIDs        map[string]bool
}

func gatherSeries(t *testing.T, g prometheus.Gatherer) series {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	s := series{byName: map[string]int{}, values: map[string]float64{}, previewIDs: map[string]bool{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s.total++
			s.byName[mf.GetName()]++
			if len(m.GetLabel()) == 0 && m.GetGauge() != nil {
				s.values[mf.GetName()] = m.GetGauge().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "preview_id" {
					s.perPreview++
					s.previewIDs[l.GetValue()] = true
				}
			}
		}
	}
	return s
}

// TestMetricsBoundedOverCycles runs 200 launch/stop cycles through the
// manager's bookkeeping (reserve a slot and port, run, give them back) and its
// metrics, without Docker: 200 real launches take minutes. The real launch and
// stop are covered by server's TestMetricsLive. A preview's series exist while
// it runs and are gone after; the number of series stops growing once every
// framework/result/reason combination has been seen, however many previews
// have come and gone.
func TestMetricsBoundedOverCycles(t *testing.T) {
	const cycles, slots = 200, 3
	runRoot, err := os.MkdirTemp("", "pvm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runRoot) })
	start := freeRange(t, slots)
	ports, err := NewPortPool("127.0.0.1", start, start+slots-1)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewManager(Config{RunRoot: runRoot, MaxPreviews: slots}, fake.New(), nil, ports, NewMetrics(reg),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m.RegisterLive(reg)

	// Scrapes run alongside, as Prometheus's would (and -race watches them).
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	frameworks := []string{"fastapi", "flask", "django", "express"}
	results := []string{"success", "crash", "oom", "timeout", "error", "stopped", "capacity"}
	reasons := []string{"stopped", "failed", "expired", "orphan", "vanished"}
	streams := []string{"stdout", "stderr", "build", "system"}
	seen := map[string]bool{}
	counts := make([]int, cycles)
	for i := range cycles {
		fw := frameworks[i%len(frameworks)]
		// Two previews at once, so a stop must remove exactly its own series.
		var ins []*instance
		for j := range 2 {
			in, err := m.reserve(db.Generation{ID: uuid.NewString(), Owner: "alice", Framework: fw}, Caps{MemoryMB: 128 + 64*j, CPUs: 0.5, Pids: 64}, time.Hour, nil)
			if err != nil {
				t.Fatalf("cycle %d: reserve: %v", i, err)
			}
			in.running.Store(true)
			in.stats.Store(&Stats{MemoryBytes: uint64(1+i) << 20, CPUSeconds: float64(i) / 10})
			ins = append(ins, in)
			seen[in.rec.ID] = true
		}
		for _, phase := range []string{"prepare", "build", "start", "healthy", "total"} {
			m.metrics.observePhase(fw, phase, i%2 == 0, time.Duration(i)*time.Millisecond)
		}
		m.metrics.launchFinished(fw, results[i%len(results)])
		m.metrics.logLine(streams[i%len(streams)])

		s := gatherSeries(t, reg)
		if s.values["preview_active"] != 2 || s.values["preview_ports_in_use"] != 2 {
			t.Fatalf("cycle %d: preview_active %v, preview_ports_in_use %v, want 2 and 2", i, s.values["preview_active"], s.values["preview_ports_in_use"])
		}
		for _, name := range []string{"preview_container_memory_bytes", "preview_container_memory_limit_bytes", "preview_container_cpu_seconds_total"} {
			if s.byName[name] != 2 {
				t.Fatalf("cycle %d: %d series of %s, want 2", i, s.byName[name], name)
			}
		}

		// Stop the first: only the second's series remain.
		m.metrics.ended(reasons[i%len(reasons)])
		ins[0].running.Store(false)
		m.unreserve(ins[0])
		s = gatherSeries(t, reg)
		if s.perPreview != 4 || !s.previewIDs[ins[1].rec.ID] || s.previewIDs[ins[0].rec.ID] {
			t.Fatalf("cycle %d: after stopping %s, per-preview series %d of %v", i, ins[0].rec.ID, s.perPreview, s.previewIDs)
		}
		ins[1].running.Store(false)
		m.unreserve(ins[1])

		s = gatherSeries(t, reg)
		if s.perPreview != 0 || s.values["preview_active"] != 0 || s.values["preview_ports_in_use"] != 0 {
			t.Fatalf("cycle %d: after every stop: %d per-preview series, preview_active %v, ports in use %v",
				i, s.perPreview, s.values["preview_active"], s.values["preview_ports_in_use"])
		}
		counts[i] = s.total
	}
	if len(seen) != 2*cycles {
		t.Fatalf("%d distinct preview ids, want %d", len(seen), 2*cycles)
	}
	// Every framework×result pair has been seen after lcm(4, 7) = 28 cycles
	// (and every reason and stream long before): from then on the count of
	// series must not move.
	for i := 28; i < cycles; i++ {
		if counts[i] != counts[27] {
			t.Fatalf("series after cycle %d: %d, after cycle 28: %d: cardinality grows with previews", i+1, counts[i], counts[27])
		}
	}
	// And no label value anywhere is a preview id.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if seen[l.GetValue()] || strings.Count(l.GetValue(), "-") == 4 {
					t.Errorf("%s has label %s=%q after every preview stopped", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	t.Logf("%d cycles (%d previews): %d series throughout once every label combination was seen", cycles, 2*cycles, counts[cycles-1])
}

// TestMetricsStartAtZero: every known label value of the counters is
// exported, at 0, before anything happened, so a dashboard or an alert on
// preview_cleanups_total sees a series from the start; the pool's size is
// exported under its name and, deprecated, under its old one.
func TestMetricsStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.setPortsCapacity(8)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	help := map[string]string{}
	for _, mf := range mfs {
		help[mf.GetName()] = mf.GetHelp()
		for _, s := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range s.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case s.GetCounter() != nil:
				got[key] = s.GetCounter().GetValue()
			case s.GetGauge() != nil:
				got[key] = s.GetGauge().GetValue()
			}
		}
	}
	want := map[string]float64{"preview_ports_capacity": 8, "preview_ports_total": 8}
	for _, reason := range []string{"stopped", "failed", "expired", "orphan", "vanished", "interrupted"} {
		want["preview_cleanups_total,reason="+reason] = 0
	}
	for _, stream := range []string{"stdout", "stderr", "build", "system"} {
		want["preview_log_lines_total,stream="+stream] = 0
	}
	for _, fw := range []string{"fastapi", "flask", "django", "express"} {
		for _, result := range []string{"success", "crash", "oom", "timeout", "error", "stopped", "capacity"} {
			want["preview_launches_total,framework="+fw+",result="+result] = 0
		}
	}
	for _, result := range []string{"hit", "miss"} {
		want["preview_warm_claims_total,result="+result] = 0
	}
	for key, v := range want {
		if g, ok := got[key]; !ok || g != v {
			t.Errorf("%s = %v (exported: %v), want %v", key, g, ok, v)
		}
	}
	if !strings.HasPrefix(help[DeprecatedPortsTotal], "Deprecated: use preview_ports_capacity") {
		t.Errorf("help of %s = %q, want it to say it is deprecated", DeprecatedPortsTotal, help[DeprecatedPortsTotal])
	}
}
