package server_test

import (
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/server"
)

// BenchmarkLaunchDjango launches Django's tutorial app (SQLite, the admin,
// its own migrations: every launch migrates a new database) and, for
// comparison, a FastAPI app of similar size, warm and cold, on the default
// Python runtime image (PREVIEW_BENCH_PYTHON_IMAGE overrides it), and
// reports the median of each launch phase.
func BenchmarkLaunchDjango(b *testing.B) {
	requireInfra(b, true)
	image := os.Getenv("PREVIEW_BENCH_PYTHON_IMAGE")
	if image == "" {
		image = pythonTrixie
	}
	apps := []struct{ name, sample string }{{"django", "django-polls"}, {"fastapi", "fastapi"}}
	for _, mode := range []struct {
		name string
		pool int
	}{{"warm", 1}, {"cold", 0}} {
		for _, app := range apps {
			b.Run(mode.name+"/"+app.name, func(b *testing.B) {
				e := newEnv(b, func(c *sandbox.Config, _ *server.Config) {
					c.Images = map[string]string{"python": image, "node": nodeImage}
					c.WarmPool = mode.pool
				})
				benchSampleLaunches(b, e, app.sample, image)
			})
		}
	}
}

// benchSampleLaunches uploads the sample and measures its launches.
func benchSampleLaunches(b *testing.B, e *env, sample, image string) {
	r := e.callJSON("POST", "/api/v1/generations", "bench", map[string]any{"name": sample, "files": sampleFiles(b, sample)})
	if r.status != http.StatusCreated {
		b.Fatalf("upload: %d %s", r.status, r.raw)
	}
	benchLaunches(b, e, r.body["id"].(string), image)
}

// benchLaunches launches generation gen b.N times, stopping it after each,
// and reports the median of each phase as the API's timings_ms show it. With
// warmImage set and a warm pool, each launch first waits for a warm
// container of that image, outside the timer.
func benchLaunches(b *testing.B, e *env, gen, warmImage string) {
	phases := []string{"prepare", "build", "start", "healthy", "total"}
	samples := map[string][]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if warmImage != "" && e.cfg.WarmPool > 0 {
			b.StopTimer()
			waitWarmImage(b, e, warmImage)
			b.StartTimer()
		}
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

// waitWarmImage waits until the pool holds a ready container of image.
func waitWarmImage(b *testing.B, e *env, image string) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		if ready, _ := e.mgr.WarmCounts(); ready[image] >= 1 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("no warm container of %s after 90 s", image)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
