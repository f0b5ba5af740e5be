package server_test

import (
	"net/http"
	"sort"
	"testing"
)

// BenchmarkLaunchFastAPI launches a FastAPI hello app and stops it, b.N times,
// and reports the median of each launch phase as the API's timings_ms show it.
// Run: go test ./server -run '^$' -bench LaunchFastAPI -benchtime 10x
func BenchmarkLaunchFastAPI(b *testing.B) {
	requireInfra(b, true)
	e := newEnv(b)
	r := e.callJSON("POST", "/api/v1/generations", "bench", map[string]any{
		"name": "hello", "files": []map[string]string{{"path": "main.py", "content": helloFastAPI}},
	})
	if r.status != http.StatusCreated {
		b.Fatalf("upload: %d %s", r.status, r.raw)
	}
	gen := r.body["id"].(string)
	phases := []string{"prepare", "build", "start", "healthy", "total"}
	samples := map[string][]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := e.launch("bench", gen, nil)
		if r.status != http.StatusCreated {
			b.Fatalf("launch: %d %s", r.status, r.raw)
		}
		for _, p := range phases {
			samples[p] = append(samples[p], r.body["timings_ms"].(map[string]any)[p].(float64))
		}
		if r := e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "bench", "", nil); r.status != http.StatusOK {
			b.Fatalf("stop: %d %s", r.status, r.raw)
		}
	}
	b.StopTimer()
	for _, p := range phases {
		s := samples[p]
		sort.Float64s(s)
		b.ReportMetric(s[len(s)/2], p+"-p50-ms")
	}
	b.Logf("timings_ms over %d launches: %v", b.N, samples)
}
