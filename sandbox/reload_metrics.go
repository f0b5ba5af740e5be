package sandbox

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/sandbox/framework"
)

// reloadMetrics count the updates of running previews.
type reloadMetrics struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// reloadBuckets resolve an update from 10 ms to 60 s.
var reloadBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1, 2, 5, 10, 30, 60}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	r := &reloadMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "preview_reloads_total",
			Help: "Updates of a running preview to a new revision, by framework and result (success, crash, timeout, build: installing changed dependencies failed, error).",
		}, []string{"framework", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "preview_reload_duration_seconds",
			Help:    "Time from a change to its new version answering, for updates that succeeded, by framework.",
			Buckets: reloadBuckets,
		}, []string{"framework"}),
	}
	reg.MustRegister(r.total, r.duration)
	for _, fw := range framework.Names() {
		for _, result := range []string{"success", "crash", "timeout", "build", "error"} {
			r.total.WithLabelValues(string(fw), result)
		}
	}
	return r
}

// reloadFinished counts an update of a preview of framework fw; d is how
// long a successful one took.
func (m *Metrics) reloadFinished(fw, result string, d time.Duration) {
	m.reloads.total.WithLabelValues(fw, result).Inc()
	if result == "success" {
		m.reloads.duration.WithLabelValues(fw).Observe(d.Seconds())
	}
}
