package sandbox

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/framework"
)

// Metrics are the sandbox's Prometheus metrics.
type Metrics struct {
	launches   *prometheus.CounterVec
	phases     *prometheus.HistogramVec
	cleanups   *prometheus.CounterVec
	portsInUse prometheus.Gauge
	portsCap   prometheus.Gauge
	// portsTotal is portsCap under its old name, which promtool flags: a
	// gauge named like a counter. Kept one release for dashboards and rules
	// that still query it.
	portsTotal prometheus.Gauge
	logLines   *prometheus.CounterVec
	warm       *prometheus.GaugeVec
	warmClaims *prometheus.CounterVec
	oomKills   prometheus.Counter
	reloads    *reloadMetrics
}

// LaunchBuckets resolve launch phases from 50 ms to 60 s.
var launchBuckets = []float64{0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60}

// NewMetrics registers the sandbox metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		launches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "preview_launches_total",
			Help: "Launches that ended, by framework and result (success, crash, oom, timeout, error, stopped, capacity).",
		}, []string{"framework", "result"}),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "preview_launch_duration_seconds",
			Help:    "Time a launch spent in each phase (prepare, build, start, healthy) and in all (total), by path (warm: into a pooled container; cold: a new one).",
			Buckets: launchBuckets,
		}, []string{"framework", "phase", "path"}),
		cleanups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "preview_cleanups_total",
			Help: "Previews torn down, by reason (stopped, failed, expired, orphan, vanished, interrupted).",
		}, []string{"reason"}),
		portsInUse: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "preview_ports_in_use",
			Help: "Host ports of the preview pool held by previews.",
		}),
		portsCap: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "preview_ports_capacity",
			Help: "Host ports in the preview pool.",
		}),
		portsTotal: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: DeprecatedPortsTotal,
			Help: "Deprecated: use preview_ports_capacity; this name goes in the next release. Host ports in the preview pool.",
		}),
		logLines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "preview_log_lines_total",
			Help: "Preview log lines stored, by stream (stdout, stderr, build, system).",
		}, []string{"stream"}),
		warm: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "preview_warm_containers",
			Help: "Containers in the warm pool, by image and state (ready, loading).",
		}, []string{"image", "state"}),
		warmClaims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "preview_warm_claims_total",
			Help: "Launches that looked for a warm container, by result (hit, miss).",
		}, []string{"result"}),
		oomKills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "preview_oom_kills_total",
			Help: "Processes of previews the kernel killed for memory (the engine's oom events).",
		}),
	}
	m.reloads = newReloadMetrics(reg)
	reg.MustRegister(m.launches, m.phases, m.cleanups, m.portsInUse, m.portsCap, m.portsTotal, m.logLines, m.warm, m.warmClaims, m.oomKills)
	// Every known label value starts at 0, so that a dashboard or an alert
	// on a counter sees a series before the first event of its kind. The
	// cleanup reasons are how a preview ended (db.StatusStopped, …) or why
	// an unowned one was ended at start-up (lifecycle.go).
	launchResults := []string{"success", "crash", "oom", "timeout", "error", "stopped", "capacity"}
	cleanupReasons := []string{db.StatusStopped, db.StatusFailed, db.StatusExpired, "orphan", "vanished", "interrupted"}
	for _, result := range []string{"hit", "miss"} {
		m.warmClaims.WithLabelValues(result)
	}
	for _, fw := range framework.Names() {
		for _, result := range launchResults {
			m.launches.WithLabelValues(string(fw), result)
		}
	}
	for _, reason := range cleanupReasons {
		m.cleanups.WithLabelValues(reason)
	}
	for _, stream := range []string{db.StreamStdout, db.StreamStderr, db.StreamBuild, db.StreamSystem} {
		m.logLines.WithLabelValues(stream)
	}
	return m
}

// DeprecatedPortsTotal is the old name of preview_ports_capacity, exported
// one more release beside it.
const DeprecatedPortsTotal = "preview_ports_total"

func (m *Metrics) setPortsCapacity(n int) {
	m.portsCap.Set(float64(n))
	m.portsTotal.Set(float64(n))
}

func (m *Metrics) observePhase(framework, phase string, warm bool, d time.Duration) {
	path := "cold"
	if warm {
		path = "warm"
	}
	m.phases.WithLabelValues(framework, phase, path).Observe(d.Seconds())
}

// setWarm publishes the pool's counts, zero for the runtime images it has
// none of (and for every runtime image when the pool is off). The pool's
// lock (Manager.mu) is held.
func (m *Metrics) setWarm(runtimeImages map[string]string, p *warmPool) {
	m.warm.Reset()
	for _, image := range runtimeImages {
		m.warm.WithLabelValues(image, "ready")
		m.warm.WithLabelValues(image, "loading")
	}
	if p == nil {
		return
	}
	for image, list := range p.idle {
		for _, wm := range list {
			state := "loading"
			if wm.ready {
				state = "ready"
			}
			m.warm.WithLabelValues(image, state).Inc()
		}
	}
}

func (m *Metrics) oomKilled(n int) { m.oomKills.Add(float64(n)) }

func (m *Metrics) warmClaim(result string) { m.warmClaims.WithLabelValues(result).Inc() }

func (m *Metrics) launchFinished(framework, result string) {
	m.launches.WithLabelValues(framework, result).Inc()
}

func (m *Metrics) capacityRefused(framework string) {
	m.launches.WithLabelValues(framework, "capacity").Inc()
}

func (m *Metrics) setPorts(inUse int) { m.portsInUse.Set(float64(inUse)) }

func (m *Metrics) ended(reason string) { m.cleanups.WithLabelValues(reason).Inc() }

func (m *Metrics) logLine(stream string) { m.logLines.WithLabelValues(stream).Inc() }

// liveCollector exports the per-preview series. They are computed from the
// manager's running previews at scrape time from the cached stats samples, so a
// stopped preview's series vanish with it and a scrape never calls the engine.
type liveCollector struct {
	m      *Manager
	active *prometheus.Desc
	memory *prometheus.Desc
	limit  *prometheus.Desc
	cpu    *prometheus.Desc
	cpuCap *prometheus.Desc
}

// RegisterLive registers the collector of running previews' series.
func (m *Manager) RegisterLive(reg prometheus.Registerer) {
	reg.MustRegister(&liveCollector{
		m:      m,
		active: prometheus.NewDesc("preview_active", "Previews running now.", nil, nil),
		memory: prometheus.NewDesc("preview_container_memory_bytes", "Memory used by a running preview's container.", []string{"preview_id"}, nil),
		limit:  prometheus.NewDesc("preview_container_memory_limit_bytes", "Memory cap of a running preview's container.", []string{"preview_id"}, nil),
		cpu:    prometheus.NewDesc("preview_container_cpu_seconds_total", "CPU time used by a running preview's container.", []string{"preview_id"}, nil),
		cpuCap: prometheus.NewDesc("preview_container_cpu_limit_cores", "CPU cap of a running preview's container, in cores.", []string{"preview_id"}, nil),
	})
}

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.active
	ch <- c.memory
	ch <- c.limit
	ch <- c.cpu
	ch <- c.cpuCap
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	running := 0
	for _, in := range c.m.snapshot() {
		if !in.running.Load() {
			continue
		}
		running++
		st := in.stats.Load()
		if st == nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(st.MemoryBytes), in.rec.ID)
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(in.rec.MemoryMB)*(1<<20), in.rec.ID)
		ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, st.CPUSeconds, in.rec.ID)
		ch <- prometheus.MustNewConstMetric(c.cpuCap, prometheus.GaugeValue, in.rec.CPUs, in.rec.ID)
	}
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(running))
}
