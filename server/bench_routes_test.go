package server_test

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox"
)

// BenchmarkRuntimeTable launches each framework's sample, cold, b.N times,
// and measures when the app's own route table can be read after the launch
// answered (the launch answers once the app does): "wait" is how long a
// reader polling every millisecond waited for it from then (0 when it was
// there at once), "reported" is when the app reported it, relative to the
// launch's answer (negative: before it).
// Run: go test ./server -run '^$' -bench RuntimeTable -benchtime 5x
func BenchmarkRuntimeTable(b *testing.B) {
	requireInfra(b, true)
	for _, fw := range []string{"fastapi", "flask", "django", "express"} {
		b.Run(fw, func(b *testing.B) {
			e := newEnv(b)
			gen := e.upload("bench", fw)
			var waits, reported []float64
			for i := 0; i < b.N; i++ {
				r := e.launch("bench", gen, nil)
				answered := time.Now()
				if r.status != http.StatusCreated {
					b.Fatalf("launch: %d %s", r.status, r.raw)
				}
				id := r.body["preview_id"].(string)
				for {
					table, err := e.mgr.RouteTable(context.Background(), id)
					if err == nil {
						waits = append(waits, float64(time.Since(answered).Microseconds())/1000)
						reported = append(reported, float64(table.ReportedAt.Sub(answered).Microseconds())/1000)
						break
					}
					if !errors.Is(err, sandbox.ErrNoRouteTable) || time.Since(answered) > 30*time.Second {
						b.Fatalf("route table: %v", err)
					}
					time.Sleep(time.Millisecond)
				}
				if r := e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "bench", "", nil); r.status != http.StatusOK {
					b.Fatalf("stop: %d %s", r.status, r.raw)
				}
			}
			sort.Float64s(waits)
			sort.Float64s(reported)
			b.ReportMetric(waits[len(waits)/2], "wait-p50-ms")
			b.ReportMetric(waits[len(waits)-1], "wait-max-ms")
			b.ReportMetric(reported[len(reported)-1], "reported-max-ms")
			b.Logf("%s: wait ms %v, reported ms %v", fw, waits, reported)
		})
	}
}
