package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/sandbox/docker"
	"github.com/previewd/previewd/server"
	"github.com/previewd/previewd/server/browser"
)

// config is previewd's whole configuration, read from the environment.
type config struct {
	DatabaseURL  string
	ListenAddr   string
	PublicDomain string
	Sandbox      sandbox.Config
	// Backend is PREVIEW_BACKEND, the engine previews run on: "docker".
	Backend   string
	Docker    docker.Config
	Server    server.Config
	PortStart int
	PortEnd   int
	LogLevel  string
	// Env is PREVIEW_ENV: "production" never falls back to a development secret.
	Env string
	// DevSecretFile, when set and PREVIEW_JWT_SECRET is not, keeps a
	// generated JWT secret for a development setup (docker compose).
	DevSecretFile string
	// MaxConnsPerIP caps the open connections of one client address; 0 is
	// no cap (previewd behind a proxy that is the only client).
	MaxConnsPerIP int
	// MetricsAddr, when set, is where /metrics is served instead of ListenAddr.
	MetricsAddr string
	// Chromium is the browser the browser check runs (PREVIEW_CHROMIUM):
	// a path or a name on PATH, "off" for none; empty looks for one.
	Chromium string
	// ChromiumMemoryMB caps the memory of the browser's processes together
	// (PREVIEW_CHROMIUM_MEMORY_MB), in a cgroup of their own.
	ChromiumMemoryMB int
}

// backendDocker names the Docker backend in PREVIEW_BACKEND.
const backendDocker = "docker"

// parseConfig reads the configuration from getenv, reporting every problem at once.
func parseConfig(getenv func(string) string) (config, error) {
	p := envParser{getenv: getenv}
	hostname, _ := os.Hostname()
	c := config{
		DatabaseURL:   p.str("DATABASE_URL", ""),
		ListenAddr:    p.str("PREVIEW_LISTEN_ADDR", ":8080"),
		PublicDomain:  p.str("PREVIEW_PUBLIC_DOMAIN", "preview.localhost"),
		LogLevel:      p.str("PREVIEW_LOG_LEVEL", "info"),
		Env:           p.str("PREVIEW_ENV", "development"),
		MaxConnsPerIP: p.integer("PREVIEW_MAX_CONNS_PER_IP", 64),
		MetricsAddr:   p.str("PREVIEW_METRICS_ADDR", ""),
		Chromium:      p.str("PREVIEW_CHROMIUM", ""),
	}
	c.ChromiumMemoryMB = p.integer("PREVIEW_CHROMIUM_MEMORY_MB", browser.DefaultMemoryMB)
	if c.ChromiumMemoryMB < 64 {
		p.fail("PREVIEW_CHROMIUM_MEMORY_MB must be at least 64 (Chromium does not start in less)")
	}
	c.DevSecretFile = p.str("PREVIEW_DEV_SECRET_FILE", "")
	c.PortStart, c.PortEnd = p.portRange("PREVIEW_PORT_RANGE", "3001-3100")
	c.Sandbox = sandbox.Config{
		RunnerID: p.str("PREVIEW_RUNNER_ID", hostname),
		Host:     p.str("PREVIEW_PORT_HOST", "127.0.0.1"),
		RunRoot:  p.str("PREVIEW_RUN_DIR", "/var/lib/previewd/run"),
		// The default image of a runtime runs apps that pin no version
		// (Debian 13's frameworks); the others are picked for apps whose
		// pins only they satisfy.
		Images: map[string]string{
			"python": p.str("PREVIEW_PYTHON_IMAGE", "previewd/runtime-python-trixie:latest"),
			"node":   p.str("PREVIEW_NODE_IMAGE", "previewd/runtime-node-trixie:latest"),
		},
		Runtimes: map[string][]string{
			"python": p.list("PREVIEW_PYTHON_IMAGES", "previewd/runtime-python:latest,previewd/runtime-python-forky:latest"),
			"node":   p.list("PREVIEW_NODE_IMAGES", "previewd/runtime-node:latest,previewd/runtime-node-forky:latest"),
		},
		Defaults: sandbox.Caps{
			MemoryMB: p.integer("PREVIEW_MEMORY_MB", 256),
			CPUs:     p.float("PREVIEW_CPUS", 0.5),
			Pids:     p.integer("PREVIEW_PIDS", 256),
		},
		Max: sandbox.Caps{
			MemoryMB: p.integer("PREVIEW_MAX_MEMORY_MB", 1024),
			CPUs:     p.float("PREVIEW_MAX_CPUS", 2),
			Pids:     p.integer("PREVIEW_MAX_PIDS", 1024),
		},
		MaxPreviews:       p.integer("PREVIEW_MAX_PREVIEWS", c.PortEnd-c.PortStart+1),
		StartTimeout:      p.duration("PREVIEW_START_TIMEOUT", 30*time.Second),
		MaxUptime:         p.duration("PREVIEW_MAX_UPTIME", time.Hour),
		IdleTimeout:       p.duration("PREVIEW_IDLE_TIMEOUT", 30*time.Minute),
		SweepEvery:        p.duration("PREVIEW_SWEEP_EVERY", 30*time.Second),
		OrphanGrace:       p.duration("PREVIEW_ORPHAN_GRACE", time.Minute),
		SessionTimeout:    p.duration("PREVIEW_SESSION_TIMEOUT", 30*time.Minute),
		StopGrace:         p.duration("PREVIEW_STOP_GRACE", 2*time.Second),
		WorkdirMB:         p.integer("PREVIEW_WORKDIR_MB", 128),
		TmpMB:             p.integer("PREVIEW_TMP_MB", 64),
		LogMaxBytes:       int64(p.integer("PREVIEW_DOCKER_LOG_BYTES", 20<<20)),
		NoFile:            int64(p.integer("PREVIEW_NOFILE", 4096)),
		LogMaxLines:       p.integer("PREVIEW_LOG_MAX_LINES", 100_000),
		LogStoreBytes:     int64(p.integer("PREVIEW_LOG_MAX_BYTES", 20<<20)),
		WarmPool:          p.integer("PREVIEW_WARM_POOL", 2),
		OutputLinesPerSec: p.integer("PREVIEW_OUTPUT_LINES_PER_SEC", 500),
		StartCPUs:         p.float("PREVIEW_START_CPUS", float64(runtime.NumCPU())),
		Deps: sandbox.DepsConfig{
			PipIndexURL:         p.sourceURL("PREVIEW_PIP_INDEX_URL", sandbox.DefaultPipIndexURL),
			NpmRegistry:         p.sourceURL("PREVIEW_NPM_REGISTRY", sandbox.DefaultNpmRegistry),
			ExtraSources:        p.sourceURLs("PREVIEW_DEPS_EXTRA_SOURCES"),
			AllowURLDeps:        p.boolean("PREVIEW_ALLOW_URL_DEPS"),
			AllowInstallScripts: p.boolean("PREVIEW_ALLOW_INSTALL_SCRIPTS"),
			Timeout:             p.duration("PREVIEW_BUILD_TIMEOUT", 5*time.Minute),
		},
	}
	c.Backend = strings.ToLower(p.str("PREVIEW_BACKEND", backendDocker))
	if c.Backend != backendDocker {
		p.fail("PREVIEW_BACKEND: unknown backend %q (known: %s)", c.Backend, backendDocker)
	}
	c.Docker = docker.Config{
		RunnerID: c.Sandbox.RunnerID,
		RunRoot:  c.Sandbox.RunRoot,
		TreeDir:  p.str("PREVIEW_TREE_DIR", "/var/lib/previewd/trees"),
	}
	c.Server = server.Config{
		JWTSecret:      []byte(p.str("PREVIEW_JWT_SECRET", "")),
		JWTIssuer:      p.str("PREVIEW_JWT_ISSUER", ""),
		JWTAudience:    p.str("PREVIEW_JWT_AUDIENCE", ""),
		MaxFiles:       p.integer("PREVIEW_MAX_FILES", 2000),
		MaxUploadBytes: int64(p.integer("PREVIEW_MAX_UPLOAD_BYTES", 20<<20)),
		RequestTimeout: p.duration("PREVIEW_REQUEST_TIMEOUT", 10*time.Second),
		MaxProxyBody:   int64(p.integer("PREVIEW_MAX_PROXY_BODY", 10<<20)),
		PublicDomain:   c.PublicDomain,
		PublicPort:     listenPort(c.ListenAddr),
		BodyGrace:      p.duration("PREVIEW_BODY_GRACE", 10*time.Second),
		BodyMinRate:    int64(p.integer("PREVIEW_BODY_MIN_RATE", 500)),
		Quota: db.Quota{
			MaxGenerations: p.integer("PREVIEW_MAX_GENERATIONS_PER_USER", 500),
			MaxBytes:       int64(p.integer("PREVIEW_MAX_BYTES_PER_USER", 1<<30)),
		},
		MaxStreamsPerUser:    p.integer("PREVIEW_MAX_STREAMS_PER_USER", 32),
		MaxStreamsPerPreview: p.integer("PREVIEW_MAX_STREAMS_PER_PREVIEW", 10),
		MetricsToken:         p.str("PREVIEW_METRICS_TOKEN", ""),
		MetricsElsewhere:     c.MetricsAddr != "",
		ChecksOff:            !p.onOff("PREVIEW_CHECKS", true),
		CheckMax:             p.integer("PREVIEW_CHECK_MAX", 50),
	}
	if c.DatabaseURL == "" {
		p.fail("DATABASE_URL is required")
	}
	switch {
	case len(c.Server.JWTSecret) == 0 && c.Env == "production":
		p.fail("PREVIEW_JWT_SECRET is required when PREVIEW_ENV=production")
	case len(c.Server.JWTSecret) == 0 && c.DevSecretFile != "":
		// useDevSecret fills it in from the file.
	case len(c.Server.JWTSecret) < 16:
		p.fail("PREVIEW_JWT_SECRET is required and must be at least 16 bytes")
	}
	d, mx := c.Sandbox.Defaults, c.Sandbox.Max
	if d.MemoryMB > mx.MemoryMB || d.CPUs > mx.CPUs || d.Pids > mx.Pids {
		p.fail("the default caps (PREVIEW_MEMORY_MB, PREVIEW_CPUS, PREVIEW_PIDS) must not exceed the maxima (PREVIEW_MAX_*)")
	}
	if c.Sandbox.WarmPool < 0 || c.Sandbox.StartCPUs < 0 || c.Sandbox.OutputLinesPerSec < 0 {
		p.fail("PREVIEW_WARM_POOL, PREVIEW_START_CPUS and PREVIEW_OUTPUT_LINES_PER_SEC must not be negative")
	}
	if c.Server.CheckMax < 1 {
		p.fail("PREVIEW_CHECK_MAX must be at least 1 (PREVIEW_CHECKS=off turns the checks off)")
	}
	if c.Sandbox.MaxPreviews < 1 {
		p.fail("PREVIEW_MAX_PREVIEWS must be at least 1")
	}
	return c, errors.Join(p.errs...)
}

// listenPort is the port of a listen address such as :8080, for the
// addresses previewd gives out; 0 when it has none.
func listenPort(addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

type envParser struct {
	getenv func(string) string
	errs   []error
}

func (p *envParser) fail(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

func (p *envParser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *envParser) integer(name string, def int) int {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		p.fail("%s: %q is not a non-negative integer", name, v)
		return def
	}
	return n
}

func (p *envParser) float(name string, def float64) float64 {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		p.fail("%s: %q is not a positive number", name, v)
		return def
	}
	return f
}

func (p *envParser) duration(name string, def time.Duration) time.Duration {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail("%s: %q is not a positive duration such as 30s or 1h", name, v)
		return def
	}
	return d
}

// onOff reads a switch: on/off (also true/false, 1/0, yes/no).
func (p *envParser) onOff(name string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(p.getenv(name))) {
	case "":
		return def
	case "on", "true", "1", "yes":
		return true
	case "off", "false", "0", "no":
		return false
	}
	p.fail("%s: %q is not on or off", name, p.getenv(name))
	return def
}

func (p *envParser) boolean(name string) bool {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail("%s: %q is not true or false", name, v)
	}
	return b
}

// sourceURL reads the http(s) URL of a package source.
func (p *envParser) sourceURL(name, def string) string {
	v := p.str(name, def)
	if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		p.fail("%s: %q is not an http(s) URL", name, v)
		return def
	}
	return v
}

// list reads a comma-separated list; unset or empty is def's, and "none"
// is an empty list.
func (p *envParser) list(name, def string) []string {
	v := strings.TrimSpace(p.getenv(name))
	switch v {
	case "":
		v = def
	case "none":
		return nil
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// sourceURLs reads a comma-separated list of http(s) URLs.
func (p *envParser) sourceURLs(name string) []string {
	var out []string
	for _, v := range strings.Split(p.getenv(name), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			p.fail("%s: %q is not an http(s) URL", name, v)
			continue
		}
		out = append(out, v)
	}
	return out
}

func (p *envParser) portRange(name, def string) (int, int) {
	v := p.str(name, def)
	a, b, ok := strings.Cut(v, "-")
	start, err1 := strconv.Atoi(strings.TrimSpace(a))
	end, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || start < 1 || end > 65535 || start > end {
		p.fail("%s: %q is not a port range such as 3001-3100", name, v)
		return 3001, 3100
	}
	return start, end
}
