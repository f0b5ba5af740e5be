package main

import (
	"strings"
	"testing"
	"time"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(envOf(map[string]string{"DATABASE_URL": "postgres://x", "PREVIEW_JWT_SECRET": "0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sandbox
	switch {
	case c.ListenAddr != ":8080", c.PortStart != 3001, c.PortEnd != 3100, c.PublicDomain != "preview.localhost":
		t.Errorf("listen/ports/domain: %+v", c)
	case s.Defaults.MemoryMB != 256 || s.Defaults.CPUs != 0.5 || s.Defaults.Pids != 256:
		t.Errorf("caps: %+v", s.Defaults)
	case s.MaxPreviews != 100:
		t.Errorf("MaxPreviews = %d, want the port range size", s.MaxPreviews)
	case s.MaxUptime != time.Hour || s.SessionTimeout != 30*time.Minute || s.StartTimeout != 30*time.Second:
		t.Errorf("timeouts: %+v", s)
	case c.Sandbox.IdleTimeout != 30*time.Minute || c.Server.RequestTimeout != 10*time.Second:
		t.Errorf("server timeouts: %+v", c.Server)
	case c.Server.MaxFiles != 2000 || c.Server.MaxUploadBytes != 20<<20:
		t.Errorf("upload limits: %+v", c.Server)
	}
}

func TestParseConfigOverrides(t *testing.T) {
	c, err := parseConfig(envOf(map[string]string{
		"DATABASE_URL": "postgres://x", "PREVIEW_JWT_SECRET": "0123456789abcdef",
		"PREVIEW_PORT_RANGE": "4000-4009", "PREVIEW_MEMORY_MB": "128", "PREVIEW_CPUS": "0.25",
		"PREVIEW_START_TIMEOUT": "5s", "PREVIEW_MAX_PREVIEWS": "3",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PortStart != 4000 || c.PortEnd != 4009 || c.Sandbox.Defaults.MemoryMB != 128 || c.Sandbox.Defaults.CPUs != 0.25 ||
		c.Sandbox.StartTimeout != 5*time.Second || c.Sandbox.MaxPreviews != 3 {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestParseConfigReportsEveryProblem(t *testing.T) {
	_, err := parseConfig(envOf(map[string]string{
		"PREVIEW_PORT_RANGE": "3100-3001", "PREVIEW_CPUS": "lots", "PREVIEW_MAX_UPTIME": "forever",
		"PREVIEW_MEMORY_MB": "4096",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{"DATABASE_URL", "PREVIEW_JWT_SECRET", "PREVIEW_PORT_RANGE", "PREVIEW_CPUS", "PREVIEW_MAX_UPTIME", "maxima"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestParseConfigLimits(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x", "PREVIEW_JWT_SECRET": "0123456789abcdef"}
	c, err := parseConfig(envOf(base))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Server
	if c.MaxConnsPerIP != 64 || s.BodyGrace != 10*time.Second || s.BodyMinRate != 500 ||
		s.Quota.MaxGenerations != 500 || s.Quota.MaxBytes != 1<<30 || s.MaxStreamsPerUser != 32 ||
		s.MaxStreamsPerPreview != 10 || s.MetricsToken != "" || s.MetricsElsewhere || c.MetricsAddr != "" {
		t.Fatalf("default limits: %+v %+v", c, s)
	}
	for k, v := range map[string]string{
		"PREVIEW_MAX_CONNS_PER_IP": "0", "PREVIEW_BODY_GRACE": "3s", "PREVIEW_BODY_MIN_RATE": "100",
		"PREVIEW_MAX_GENERATIONS_PER_USER": "7", "PREVIEW_MAX_BYTES_PER_USER": "1000",
		"PREVIEW_MAX_STREAMS_PER_USER": "4", "PREVIEW_MAX_STREAMS_PER_PREVIEW": "2",
		"PREVIEW_METRICS_TOKEN": "tok", "PREVIEW_METRICS_ADDR": "127.0.0.1:9091",
	} {
		base[k] = v
	}
	if c, err = parseConfig(envOf(base)); err != nil {
		t.Fatal(err)
	}
	s = c.Server
	if c.MaxConnsPerIP != 0 || s.BodyGrace != 3*time.Second || s.BodyMinRate != 100 ||
		s.Quota.MaxGenerations != 7 || s.Quota.MaxBytes != 1000 || s.MaxStreamsPerUser != 4 ||
		s.MaxStreamsPerPreview != 2 || s.MetricsToken != "tok" || !s.MetricsElsewhere || c.MetricsAddr != "127.0.0.1:9091" {
		t.Fatalf("limits not applied: %+v %+v", c, s)
	}
}

func TestParseConfigDependencyInstalls(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x", "PREVIEW_JWT_SECRET": "0123456789abcdef"}
	c, err := parseConfig(envOf(base))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Sandbox.Deps
	if d.PipIndexURL != "https://pypi.org/simple/" || d.NpmRegistry != "https://registry.npmjs.org/" ||
		d.AllowURLDeps || d.AllowInstallScripts || d.Timeout != 5*time.Minute || len(d.ExtraSources) != 0 {
		t.Errorf("defaults: %+v", d)
	}
	set := map[string]string{
		"PREVIEW_PIP_INDEX_URL": "http://devpi.internal:3141/root/pypi/+simple/", "PREVIEW_NPM_REGISTRY": "https://npm.internal/",
		"PREVIEW_DEPS_EXTRA_SOURCES": "https://files.internal, https://mirror.internal:8443",
		"PREVIEW_ALLOW_URL_DEPS":     "true", "PREVIEW_ALLOW_INSTALL_SCRIPTS": "1", "PREVIEW_BUILD_TIMEOUT": "90s",
	}
	for k, v := range base {
		set[k] = v
	}
	if c, err = parseConfig(envOf(set)); err != nil {
		t.Fatal(err)
	}
	d = c.Sandbox.Deps
	if d.PipIndexURL != set["PREVIEW_PIP_INDEX_URL"] || d.NpmRegistry != "https://npm.internal/" || !d.AllowURLDeps ||
		!d.AllowInstallScripts || d.Timeout != 90*time.Second || len(d.ExtraSources) != 2 || d.ExtraSources[1] != "https://mirror.internal:8443" {
		t.Errorf("overrides: %+v", d)
	}
	for k, v := range map[string]string{"PREVIEW_PIP_INDEX_URL": "pypi.org/simple", "PREVIEW_DEPS_EXTRA_SOURCES": "ftp://x",
		"PREVIEW_ALLOW_URL_DEPS": "sure", "PREVIEW_BUILD_TIMEOUT": "0"} {
		bad := map[string]string{k: v}
		for k, v := range base {
			bad[k] = v
		}
		if _, err := parseConfig(envOf(bad)); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: %v", k, v, err)
		}
	}
}

// TestParseConfigBackend: the Docker backend is the default and the only
// one; any other name stops the start with a clear error.
func TestParseConfigBackend(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x", "PREVIEW_JWT_SECRET": "0123456789abcdef"}
	c, err := parseConfig(envOf(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Backend != "docker" || c.Docker.RunRoot != c.Sandbox.RunRoot || c.Docker.RunnerID != c.Sandbox.RunnerID || c.Docker.TreeDir != "/var/lib/previewd/trees" {
		t.Errorf("backend %q, docker config %+v", c.Backend, c.Docker)
	}
	for _, name := range []string{"docker", "Docker "} {
		base["PREVIEW_BACKEND"] = name
		if c, err := parseConfig(envOf(base)); err != nil || c.Backend != "docker" {
			t.Errorf("PREVIEW_BACKEND=%q: backend %q, %v", name, c.Backend, err)
		}
	}
	base["PREVIEW_BACKEND"] = "kubernetes"
	_, err = parseConfig(envOf(base))
	if err == nil || !strings.Contains(err.Error(), `PREVIEW_BACKEND: unknown backend "kubernetes" (known: docker)`) {
		t.Fatalf("PREVIEW_BACKEND=kubernetes: %v", err)
	}
}

func TestParseConfigChecks(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x", "PREVIEW_JWT_SECRET": "0123456789abcdef"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	c, err := parseConfig(envOf(base))
	if err != nil || c.Server.ChecksOff || c.Server.CheckMax != 50 || c.Chromium != "" {
		t.Fatalf("defaults: off %v, max %d, chromium %q, %v", c.Server.ChecksOff, c.Server.CheckMax, c.Chromium, err)
	}
	for v, off := range map[string]bool{"off": true, "OFF": true, "false": true, "on": false, "true": false} {
		if c, err := parseConfig(envOf(with("PREVIEW_CHECKS", v))); err != nil || c.Server.ChecksOff != off {
			t.Errorf("PREVIEW_CHECKS=%s: off %v, %v", v, c.Server.ChecksOff, err)
		}
	}
	if _, err := parseConfig(envOf(with("PREVIEW_CHECKS", "sometimes"))); err == nil || !strings.Contains(err.Error(), "PREVIEW_CHECKS") {
		t.Errorf("PREVIEW_CHECKS=sometimes: %v", err)
	}
	if c, err := parseConfig(envOf(with("PREVIEW_CHECK_MAX", "7"))); err != nil || c.Server.CheckMax != 7 {
		t.Errorf("PREVIEW_CHECK_MAX=7: %d, %v", c.Server.CheckMax, err)
	}
	if _, err := parseConfig(envOf(with("PREVIEW_CHECK_MAX", "0"))); err == nil || !strings.Contains(err.Error(), "PREVIEW_CHECK_MAX") {
		t.Errorf("PREVIEW_CHECK_MAX=0: %v", err)
	}
	if c.ChromiumMemoryMB != 512 {
		t.Errorf("PREVIEW_CHROMIUM_MEMORY_MB default %d, want 512", c.ChromiumMemoryMB)
	}
	if c, err := parseConfig(envOf(with("PREVIEW_CHROMIUM_MEMORY_MB", "1024"))); err != nil || c.ChromiumMemoryMB != 1024 {
		t.Errorf("PREVIEW_CHROMIUM_MEMORY_MB=1024: %d, %v", c.ChromiumMemoryMB, err)
	}
	for _, v := range []string{"32", "lots"} {
		if _, err := parseConfig(envOf(with("PREVIEW_CHROMIUM_MEMORY_MB", v))); err == nil || !strings.Contains(err.Error(), "PREVIEW_CHROMIUM_MEMORY_MB") {
			t.Errorf("PREVIEW_CHROMIUM_MEMORY_MB=%s: %v", v, err)
		}
	}
}
