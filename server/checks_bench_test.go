package server_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"testing"
	"time"
)

// checkTimes launches gen, waits for its checks and returns how long after
// the preview became healthy the endpoint checks were stored, and the
// browser section (raw).
func (e *env) checkTimes(b *testing.B, gen string) (time.Duration, json.RawMessage) {
	b.Helper()
	r := e.launch("bench", gen, nil)
	if r.status != http.StatusCreated {
		b.Fatalf("launch: %d %s", r.status, r.raw)
	}
	c := e.waitChecks("bench", gen)
	st := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "bench", "", nil)
	started, err := time.Parse(time.RFC3339Nano, st.body["started_at"].(string))
	if err != nil || c.CheckedAt == nil {
		b.Fatalf("started_at %v, checks %+v", st.body["started_at"], c)
	}
	if r := e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "bench", "", nil); r.status != http.StatusOK {
		b.Fatalf("stop: %d %s", r.status, r.raw)
	}
	return c.CheckedAt.Sub(started), c.Browser
}

func p50(s []float64) float64 {
	s = append([]float64(nil), s...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// BenchmarkChecksHello launches a FastAPI hello app b.N times and reports
// how long after it became healthy its endpoint checks were stored (the
// goal is 200 ms).
// Run: go test ./server -run '^$' -bench ChecksHello -benchtime 10x
func BenchmarkChecksHello(b *testing.B) {
	requireInfra(b, true)
	e := newEnv(b, withChecks)
	r := e.callJSON("POST", "/api/v1/generations", "bench", map[string]any{
		"name": "hello", "files": []map[string]string{{"path": "main.py", "content": helloFastAPI}},
	})
	if r.status != http.StatusCreated {
		b.Fatalf("upload: %d %s", r.status, r.raw)
	}
	gen := r.body["id"].(string)
	var ms []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, _ := e.checkTimes(b, gen)
		ms = append(ms, float64(d.Microseconds())/1000)
	}
	b.StopTimer()
	b.ReportMetric(p50(ms), "after-healthy-p50-ms")
	b.Logf("endpoint checks stored, ms after healthy, over %d launches: %v", b.N, ms)
}

// BenchmarkBrowserCheckOnePage launches a one-page app (a page with its own
// stylesheet and script) b.N times and reports how long the browser check
// took to render its root page (the goal is 2 s).
// Run: go test ./server -run '^$' -bench BrowserCheckOnePage -benchtime 10x
func BenchmarkBrowserCheckOnePage(b *testing.B) {
	requireInfra(b, true)
	e := newEnv(b, withBrowser(b))
	gen := e.upload("bench", "browser-page")
	var render []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, raw := e.checkTimes(b, gen)
		var br struct {
			DurationMS float64 `json:"duration_ms"`
			Status     int     `json:"status"`
		}
		if err := json.Unmarshal(raw, &br); err != nil || br.Status != http.StatusOK {
			b.Fatalf("browser section %s: %v", raw, err)
		}
		render = append(render, br.DurationMS)
	}
	b.StopTimer()
	b.ReportMetric(p50(render), "render-p50-ms")
	b.Logf("root page rendered in ms, over %d launches: %v", b.N, render)
}
