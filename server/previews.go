package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/sandbox/framework"
)

// launchRequest is the optional body of POST /launch.
type launchRequest struct {
	MemoryMB   *int              `json:"memory_mb"`
	CPUs       *float64          `json:"cpus"`
	Pids       *int              `json:"pids"`
	Env        map[string]string `json:"env"`
	TTLSeconds *int              `json:"ttl_seconds"`
	Wait       *bool             `json:"wait"`
	Restart    *restartPolicy    `json:"restart"`
	// Checks false skips the endpoint and browser checks of this preview.
	Checks *bool `json:"checks"`
}

// restartPolicy is the launch body's "restart": {"max": 3}.
type restartPolicy struct {
	Max int `json:"max"`
}

// maxRestarts bounds a launch's restart policy.
const maxRestarts = 10

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

const (
	maxEnvVars  = 100
	maxEnvBytes = 64 << 10
)

// toLaunch validates the body against the server's limits.
func (s *Server) toLaunch(g db.Generation, r launchRequest) (sandbox.LaunchRequest, error) {
	cfg := s.sandbox.Config()
	req := sandbox.LaunchRequest{Generation: g, Wait: true, Env: map[string]string{}}
	if r.Wait != nil {
		req.Wait = *r.Wait
	}
	if r.MemoryMB != nil {
		if *r.MemoryMB <= 0 {
			return req, unprocessable("memory_mb must be positive")
		}
		req.Caps.MemoryMB = *r.MemoryMB
	}
	if r.CPUs != nil {
		if *r.CPUs <= 0 {
			return req, unprocessable("cpus must be positive")
		}
		req.Caps.CPUs = *r.CPUs
	}
	if r.Pids != nil {
		if *r.Pids <= 0 {
			return req, unprocessable("pids must be positive")
		}
		req.Caps.Pids = *r.Pids
	}
	if r.TTLSeconds != nil {
		ttl := time.Duration(*r.TTLSeconds) * time.Second
		switch {
		case *r.TTLSeconds <= 0:
			return req, unprocessable("ttl_seconds must be positive")
		case ttl > cfg.MaxUptime:
			return req, unprocessable(fmt.Sprintf("ttl_seconds %d is above the maximum %d", *r.TTLSeconds, int(cfg.MaxUptime.Seconds())))
		}
		req.TTL = ttl
	}
	if r.Restart != nil {
		if r.Restart.Max < 0 || r.Restart.Max > maxRestarts {
			return req, unprocessable(fmt.Sprintf("restart.max must be between 0 and %d", maxRestarts))
		}
		req.RestartMax = r.Restart.Max
	}
	if len(r.Env) > maxEnvVars {
		return req, unprocessable(fmt.Sprintf("env may hold at most %d variables", maxEnvVars))
	}
	size := 0
	for k, v := range r.Env {
		if !envName.MatchString(k) {
			return req, unprocessable(fmt.Sprintf("env name %q is not a valid variable name", k))
		}
		for _, c := range v {
			if c == 0 {
				return req, unprocessable(fmt.Sprintf("env %s contains a NUL byte", k))
			}
		}
		size += len(k) + len(v)
		req.Env[k] = v
	}
	if size > maxEnvBytes {
		return req, unprocessable(fmt.Sprintf("env may hold at most %d bytes", maxEnvBytes))
	}
	return req, nil
}

// launch starts the generation's preview, or answers with the live one.
func (s *Server) launch(c *gin.Context) {
	g, ok := s.generation(c)
	if !ok {
		return
	}
	var body launchRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20))
	dec.DisallowUnknownFields()
	// The body is optional: an empty one means the defaults.
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		s.abort(c, jsonError(err))
		return
	}
	req, err := s.toLaunch(g, body)
	if err != nil {
		s.abort(c, err)
		return
	}
	req.Healthy = s.healthyHook(g, body.Checks == nil || *body.Checks)
	res, err := s.sandbox.Launch(c.Request.Context(), req)
	if err != nil {
		s.abort(c, err)
		return
	}
	status := http.StatusCreated
	switch {
	case res.Existing:
		status = http.StatusOK
	case res.Preview.Status == db.StatusStarting:
		status = http.StatusAccepted
	}
	p := res.Preview
	c.JSON(status, gin.H{
		"preview_id":         p.ID,
		"generation_id":      p.GenerationID,
		"status":             p.Status,
		"port":               p.Port,
		"base_url":           s.baseURL(p),
		"proxy_url":          s.proxyURL(p),
		"session_token":      res.SessionToken,
		"session_expires_at": res.SessionExpiresAt.UTC(),
		"expires_at":         p.ExpiresAt.UTC(),
		"timings_ms":         timingsJSON(p.Timings),
		"warm":               p.Warm,
		"revision":           p.Revision,
		"runtime":            runtimeJSON(p.Runtime),
	})
}

// runtimeJSON is the runtime a preview runs on, or null before its image
// is resolved (a launch answered at once, one that failed before).
func runtimeJSON(rt db.Runtime) any {
	if rt.Image == "" {
		return nil
	}
	pkgs := rt.Packages
	if pkgs == nil {
		pkgs = map[string]string{}
	}
	return gin.H{"image": rt.Image, "packages": pkgs}
}

func timingsJSON(t db.Timings) map[string]int64 {
	out := map[string]int64{"prepare": 0, "build": 0, "start": 0, "healthy": 0, "total": 0}
	for k, v := range t {
		out[k] = v
	}
	return out
}

func (s *Server) baseURL(p db.Preview) string {
	return fmt.Sprintf("http://%s:%d", s.sandbox.Config().Host, p.Port)
}

// latestPreview loads the most recent preview of the caller's generation named
// in the path; a generation that never had one is not found.
func (s *Server) latestPreview(c *gin.Context) (db.Preview, bool) {
	_, p, ok := s.generationAndPreview(c)
	return p, ok
}

// generationAndPreview is latestPreview that also returns the generation.
func (s *Server) generationAndPreview(c *gin.Context) (db.Generation, db.Preview, bool) {
	g, ok := s.generation(c)
	if !ok {
		return g, db.Preview{}, false
	}
	p, err := s.store.LatestPreview(c.Request.Context(), g.ID)
	if errors.Is(err, db.ErrNotFound) {
		s.abort(c, &apiError{status: http.StatusNotFound, code: "not_found", message: "this generation has never had a preview"})
		return g, db.Preview{}, false
	}
	if err != nil {
		s.abort(c, err)
		return g, db.Preview{}, false
	}
	return g, p, true
}

// status reports the generation's latest preview, with live resource figures
// while it runs.
func (s *Server) status(c *gin.Context) {
	g, p, ok := s.generationAndPreview(c)
	if !ok {
		return
	}
	// The static count: cheap once cached, and the same whether or not the
	// app runs. null only when the source cannot be read.
	var endpointCount any
	if eps, err := s.staticEndpoints(c.Request.Context(), g); err == nil {
		endpointCount = len(eps)
	}
	out := gin.H{
		"preview_id":            p.ID,
		"status":                p.Status,
		"revision":              p.Revision, // the one it runs, maybe older than the generation's
		"reloading_revision":    p.ReloadingRevision,
		"failed_revision":       p.FailedRevision,
		"failed_revision_error": failedRevisionJSON(p),
		"port":                  nil,
		"base_url":              nil,
		"proxy_url":             nil,
		"started_at":            p.StartedAt,
		"uptime_seconds":        nil,
		"expires_at":            p.ExpiresAt.UTC(),
		"idle_expires_at":       nil,
		"healthy":               false,
		"memory_bytes":          nil,
		"memory_limit_bytes":    int64(p.MemoryMB) << 20,
		"cpu_percent":           nil,
		"cpu_limit":             p.CPUs,
		"pids":                  nil,
		"pids_limit":            p.Pids,
		"restarts":              p.Restarts,
		"restart_max":           p.RestartMax,
		"oom_kills":             p.OOMKills,
		"exit_code":             p.ExitCode,
		"oom_killed":            p.OOMKilled,
		"error":                 nullable(p.Error),
		"log_tail":              nonNil(p.LogTail),
		"endpoint_count":        endpointCount,
		"stopped_at":            p.StoppedAt,
		"timings_ms":            timingsJSON(p.Timings),
		"warm":                  p.Warm,
		"cause":                 causeJSON(p),
		"runtime":               runtimeJSON(p.Runtime),
	}
	if missing := missingEnv(p); len(missing) > 0 {
		out["missing_env"] = missing
	}
	if p.Live() {
		out["port"] = p.Port
		out["base_url"] = s.baseURL(p)
		out["proxy_url"] = s.proxyURL(p)
	}
	if p.Status == db.StatusRunning && p.StartedAt != nil {
		out["uptime_seconds"] = int64(time.Since(*p.StartedAt).Seconds())
		out["healthy"] = true
		if idle := s.sandbox.Config().IdleTimeout; idle > 0 {
			out["idle_expires_at"] = p.LastActiveAt.Add(idle).UTC()
		}
		if st := s.sandbox.LiveStats(p.ID); st != nil {
			out["memory_bytes"] = st.MemoryBytes
			out["cpu_percent"] = st.CPUPercent
			out["pids"] = st.Pids
			out["stats_at"] = st.At.UTC()
		}
	}
	c.JSON(http.StatusOK, out)
}

// causeJSON is a failed preview's recorded cause, or null.
func causeJSON(p db.Preview) any {
	if p.Status != db.StatusFailed || len(p.Cause) == 0 {
		return nil
	}
	return json.RawMessage(p.Cause)
}

// missingEnv names the variables a failed preview's cause says it lacked.
func missingEnv(p db.Preview) []string {
	if p.Status != db.StatusFailed || len(p.Cause) == 0 {
		return nil
	}
	var c struct {
		MissingEnv []string `json:"missing_env"`
	}
	if json.Unmarshal(p.Cause, &c) != nil {
		return nil
	}
	return c.MissingEnv
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// stop stops the generation's live preview. It is idempotent: with nothing
// running it answers with the latest preview's id, or 404 when there never
// was one.
func (s *Server) stop(c *gin.Context) {
	p, ok := s.latestPreview(c)
	if !ok {
		return
	}
	if err := s.sandbox.Stop(c.Request.Context(), p); err != nil {
		s.abort(c, err)
		return
	}
	status := db.StatusStopped
	if !p.Live() {
		status = p.Status
	}
	c.JSON(http.StatusOK, gin.H{"preview_id": p.ID, "status": status})
}

// config describes the server's limits and runtimes.
func (s *Server) config(c *gin.Context) {
	cfg := s.sandbox.Config()
	start, end, free := s.sandbox.PortRange()
	runtimes := []gin.H{}
	for _, name := range []string{"python", "node"} {
		if img, ok := cfg.Images[name]; ok {
			runtimes = append(runtimes, gin.H{"name": name, "image": img})
		}
	}
	c.JSON(http.StatusOK, gin.H{
		"port_range":              gin.H{"start": start, "end": end},
		"ports_free":              free,
		"max_previews":            cfg.MaxPreviews,
		"memory_limit_mb":         cfg.Defaults.MemoryMB,
		"cpu_limit":               cfg.Defaults.CPUs,
		"pids_limit":              cfg.Defaults.Pids,
		"max_memory_mb":           cfg.Max.MemoryMB,
		"max_cpus":                cfg.Max.CPUs,
		"max_pids":                cfg.Max.Pids,
		"max_uptime_seconds":      int(cfg.MaxUptime.Seconds()),
		"session_timeout_seconds": int(cfg.SessionTimeout.Seconds()),
		"idle_timeout_seconds":    int(cfg.IdleTimeout.Seconds()),
		"request_timeout_seconds": int(s.cfg.RequestTimeout.Seconds()),
		"start_timeout_seconds":   int(cfg.StartTimeout.Seconds()),
		"frameworks":              framework.Names(),
		"runtimes":                runtimes,
	})
}
