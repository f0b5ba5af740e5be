// Package deploy_test checks the compose environment's files: docker-compose.yml
// at the repository root and the Prometheus and Grafana configuration here.
// That previewd exports every metric the dashboard queries is checked against a
// live previewd in server/metrics_test.go.
package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// requireTool returns the path of a command; missing, it skips the test, or
// fails it when CI is set.
func requireTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not installed", strings.Join(names, " or "))
	}
	t.Skipf("%s not installed", strings.Join(names, " or "))
	return ""
}

// composeCommand is docker-compose (v1), or else the docker compose plugin.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	if p, err := exec.LookPath("docker"); err == nil && exec.Command(p, "compose", "version").Run() == nil {
		return []string{p, "compose"}
	}
	requireTool(t, "docker-compose")
	return nil
}

// composeConfig runs `docker-compose config` with args on the repository's
// compose file and returns what it prints.
func composeConfig(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := composeCommand(t)
	full := append(append(cmd[1:], "--project-directory", "..", "-f", "../docker-compose.yml"), args...)
	c := exec.Command(cmd[0], full...)
	// A clean environment: nothing from the developer's shell may fill in a
	// variable the file requires.
	c.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	out, err := c.CombinedOutput()
	return string(out), err
}

// serviceBlock is the part of a resolved compose file that defines service name.
func serviceBlock(resolved, name string) string {
	i := strings.Index(resolved, "\n  "+name+":\n")
	if i < 0 {
		return ""
	}
	block := resolved[i+1:]
	if next := regexp.MustCompile(`\n  \S`).FindStringIndex(block[1:]); next != nil {
		block = block[:next[0]+2]
	}
	return block
}

func TestComposeConfig(t *testing.T) {
	env := []string{"PREVIEW_JWT_SECRET=compose-test-secret-0123456789"}
	out, err := composeConfig(t, env, "config")
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, want := range []string{
		"/var/run/docker.sock:/var/run/docker.sock",
		"/var/lib/previewd:/var/lib/previewd",
		"network_mode: host",
		"PREVIEW_RUN_DIR: /var/lib/previewd/run",
		"DATABASE_URL: postgres://previewd:previewd@127.0.0.1:5432/previewd?sslmode=disable",
		"PREVIEW_JWT_SECRET: compose-test-secret-0123456789",
		"condition: service_healthy",
		"prometheus.yml:/etc/prometheus/prometheus.yml:ro",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("resolved compose file lacks %q:\n%s", want, out)
		}
	}

	// Grafana's image has to be pulled: it, and only it, starts with a profile.
	if n := strings.Count(out, "profiles:"); n != 1 {
		t.Errorf("%d services have profiles, want 1 (grafana)", n)
	}
	if !strings.Contains(serviceBlock(out, "grafana"), "\n    profiles:\n    - grafana\n") {
		t.Errorf("grafana is not behind the profile grafana:\n%s", out)
	}
	if out, err := composeConfig(t, env, "--profile", "grafana", "config", "--services"); err != nil || !strings.Contains(out, "grafana") {
		t.Errorf("docker-compose --profile grafana config --services: %v\n%s", err, out)
	}

	// Without a JWT secret the development setup starts anyway: previewd
	// keeps a secret of its own in the mounted /var/lib/previewd.
	out, err = composeConfig(t, nil, "config")
	if err != nil {
		t.Fatalf("config without PREVIEW_JWT_SECRET: %v\n%s", err, out)
	}
	for _, want := range []string{"PREVIEW_ENV: development", "PREVIEW_DEV_SECRET_FILE: /var/lib/previewd/dev/jwt-secret"} {
		if !strings.Contains(serviceBlock(out, "previewd"), want) {
			t.Errorf("development setup lacks %q:\n%s", want, out)
		}
	}
}

// TestComposeBuildContexts: every Dockerfile the compose environment builds
// starts from debian:bookworm-slim, which `make images` makes offline.
func TestComposeBuildContexts(t *testing.T) {
	for _, f := range []string{"postgres/Dockerfile", "prometheus/Dockerfile", "../images/previewd/Dockerfile"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "ARG BASE_IMAGE=debian:bookworm-slim\nFROM ${BASE_IMAGE}\n") {
			t.Errorf("%s does not build FROM debian:bookworm-slim", f)
		}
	}
}

func TestPrometheusConfig(t *testing.T) {
	promtool := requireTool(t, "promtool")
	out, err := exec.Command(promtool, "check", "config", filepath.Join("prometheus", "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// dashboard is the part of a Grafana dashboard these tests read.
type dashboard struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

// TestDashboardShape: the provisioned dashboard parses, its panels have
// unique ids, fit the 24-column grid, query the provisioned data source and
// cover what the issue lists.
func TestDashboardShape(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("grafana", "dashboards", "previewd.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard needs a uid and title: %q %q", d.UID, d.Title)
	}
	ids := map[int]bool{}
	var exprs []string
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W <= 0 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the dashboard's data source", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("panel %q: query %s is empty", p.Title, q.RefID)
			}
			exprs = append(exprs, q.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, want := range []string{
		"preview_active",
		"preview_launches_total",
		"histogram_quantile(0.5, sum by (le, phase) (rate(preview_launch_duration_seconds_bucket",
		"histogram_quantile(0.95, sum by (le, phase) (rate(preview_launch_duration_seconds_bucket",
		"histogram_quantile(0.99, sum by (le, phase) (rate(preview_launch_duration_seconds_bucket",
		`result!="success"`,
		"preview_ports_in_use", "preview_ports_capacity",
		"preview_container_memory_bytes", "preview_container_memory_limit_bytes",
		"rate(preview_container_cpu_seconds_total",
		"preview_proxy_requests_total", "preview_proxy_request_duration_seconds_bucket",
		"preview_log_lines_total", "preview_sse_clients", "preview_cleanups_total",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no dashboard query contains %q", want)
		}
	}

	// The provisioning files point at the dashboard and data source used above.
	ds, err := os.ReadFile(filepath.Join("grafana", "provisioning", "datasources", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ds), "uid: prometheus") || !strings.Contains(string(ds), "url: http://localhost:9090") {
		t.Errorf("data source provisioning:\n%s", ds)
	}
	prov, err := os.ReadFile(filepath.Join("grafana", "provisioning", "dashboards", "previewd.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(prov), "path: /var/lib/grafana/dashboards") {
		t.Errorf("dashboard provisioning:\n%s", prov)
	}
}
