package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/previewd/previewd/sandbox"
)

// TestMetricsLive runs real previews and checks /metrics as an operator's
// Prometheus and Grafana see it: promtool finds no problems in a live scrape;
// a real Prometheus started from deploy/prometheus/prometheus.yml scrapes it;
// every metric the Grafana dashboard queries is exported; a preview's series
// disappear when it stops, and repeated launch/stop cycles add no series.
func TestMetricsLive(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	// What cmd/previewd registers besides the sandbox and server metrics.
	e.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Cycle 1 makes every series a launch, a proxied request and a stop make.
	a := e.launchEcho("alice", "a")
	mustStatus(t, e.appRequest("alice", a, a.token, map[string]any{"method": "GET", "path": "/count"}), http.StatusOK)
	e.waitPreviewSeries(a.id)
	e.stopAndCheckSeries(a)
	baseline := e.scrapeMetrics().count("preview_")

	// Cycle 2's preview stays up while the scrape is checked.
	b := e.launchEcho("alice", "b")
	mustStatus(t, e.appRequest("alice", b, b.token, map[string]any{"method": "GET", "path": "/count"}), http.StatusOK)
	live := e.waitPreviewSeries(b.id)

	t.Run("promtool", func(t *testing.T) {
		promtool := requirePrometheusTool(t, "promtool")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(withoutFamily(live.text, sandbox.DeprecatedPortsTotal))
		out, err := cmd.CombinedOutput()
		// Exit status 3 means lint findings, listed one a line; anything
		// else failing is a scrape promtool could not parse.
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 3) {
			t.Fatalf("promtool check metrics: %v\n%s", err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			switch {
			case line == "":
			default:
				t.Errorf("promtool check metrics: %s", line)
			}
		}
	})

	t.Run("deprecated", func(t *testing.T) {
		// The old name of preview_ports_capacity: the same value, and its
		// help says it is going.
		capacity, old := live.value("preview_ports_capacity"), live.value(sandbox.DeprecatedPortsTotal)
		if capacity <= 0 || old != capacity {
			t.Errorf("preview_ports_capacity %v, %s %v: want the same pool size", capacity, sandbox.DeprecatedPortsTotal, old)
		}
		if !strings.Contains(live.text, "# HELP "+sandbox.DeprecatedPortsTotal+" Deprecated: use preview_ports_capacity") {
			t.Errorf("the help of %s does not say it is deprecated", sandbox.DeprecatedPortsTotal)
		}
		if withoutFamily(live.text, sandbox.DeprecatedPortsTotal) == live.text {
			t.Errorf("withoutFamily dropped nothing")
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		exprs := dashboardExprs(t)
		used := map[string]bool{}
		for _, expr := range exprs {
			names := metricNames(expr)
			if len(names) == 0 {
				t.Errorf("found no metric in %q", expr)
			}
			for _, n := range names {
				used[n] = true
				if !live.exports(n) {
					t.Errorf("dashboard queries %s, which previewd does not export (in %q)", n, expr)
				}
			}
		}
		t.Logf("%d dashboard queries use %d metrics", len(exprs), len(used))
	})

	t.Run("prometheus", func(t *testing.T) {
		prom := startPrometheus(t, strings.TrimPrefix(e.api.URL, "http://"))
		prom.waitValue(t, `preview_active{job="previewd"}`, func(v float64) bool { return v >= 1 })
		prom.waitValue(t, `sum(preview_launch_duration_seconds_count{job="previewd",phase="total"})`, func(v float64) bool { return v > 0 })
		prom.waitValue(t, `count(preview_container_memory_bytes{preview_id="`+b.id+`"})`, func(v float64) bool { return v == 1 })
		// Grafana sends the dashboard's queries with its variables filled in:
		// each must be one Prometheus accepts.
		vars := strings.NewReplacer("$__rate_interval", "1m", "$__range", "5m", "$framework", ".*", "$phase", ".*")
		for _, expr := range dashboardExprs(t) {
			if _, err := prom.query(vars.Replace(expr)); err != nil {
				t.Errorf("dashboard query %q: %v", expr, err)
			}
		}
	})

	e.stopAndCheckSeries(b)
	if got := e.scrapeMetrics().count("preview_"); got != baseline {
		t.Fatalf("after the second launch/stop cycle: %d preview_ series, after the first %d", got, baseline)
	}
	// More real cycles, each about two seconds; the 200-cycle run is
	// sandbox's TestMetricsBoundedOverCycles, without Docker.
	for i := range 3 {
		p := e.launchEcho("alice", "c"+strconv.Itoa(i))
		e.waitPreviewSeries(p.id)
		e.stopAndCheckSeries(p)
		if got := e.scrapeMetrics().count("preview_"); got != baseline {
			t.Fatalf("after cycle %d: %d preview_ series, after the first %d", i+3, got, baseline)
		}
	}
}

// withoutFamily drops a metric family from a scrape in the text format.
// preview_ports_total, kept one release beside preview_ports_capacity, is a
// gauge with a counter's suffix, which promtool flags; the deprecated subtest
// checks it instead.
func withoutFamily(text, name string) string {
	var kept []string
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE "))
		if len(fields) > 0 && (fields[0] == name || strings.HasPrefix(fields[0], name+"{")) {
			continue
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "\n")
}

// stopAndCheckSeries stops p and checks that its series are gone from /metrics at once.
func (e *env) stopAndCheckSeries(p preview) {
	e.t.Helper()
	r := e.call("DELETE", "/api/v1/generations/"+p.gen+"/preview", "alice", "", nil)
	mustStatus(e.t, r, http.StatusOK)
	s := e.scrapeMetrics()
	if n := s.withLabel("preview_id", p.id); n != 0 {
		e.t.Fatalf("%d series of preview %s remain after it stopped:\n%s", n, p.id, s.text)
	}
	if n := s.withLabel("preview_id", ""); n != 0 {
		e.t.Fatalf("%d per-preview series remain with no preview running", n)
	}
	if !strings.Contains(s.text, "\npreview_active 0\n") {
		e.t.Fatalf("preview_active is not 0 after the stop")
	}
}

// waitPreviewSeries waits until the preview's stats sample is in /metrics and
// returns that scrape.
func (e *env) waitPreviewSeries(id string) metricsScrape {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := e.scrapeMetrics()
		if s.withLabel("preview_id", id) == 4 {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("preview %s: want its 4 series (memory, memory limit, cpu, cpu limit) in /metrics:\n%s", id, s.text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// metricsScrape is one /metrics answer in the text format.
type metricsScrape struct {
	text     string
	samples  []metricsSample
	families map[string]bool // from # TYPE lines
}

type metricsSample struct{ name, labels string }

func (e *env) scrapeMetrics() metricsScrape {
	e.t.Helper()
	r := e.call("GET", "/metrics", "", "", nil)
	mustStatus(e.t, r, http.StatusOK)
	s := metricsScrape{text: string(r.raw), families: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(r.raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			s.families[strings.Fields(f)[0]] = true
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, labels := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
			if line[i] == '{' {
				labels = line[i : strings.LastIndex(line, "}")+1]
			}
		}
		s.samples = append(s.samples, metricsSample{name, labels})
	}
	return s
}

// value is the value of the unlabelled series name, 0 when there is none.
func (s metricsScrape) value(name string) float64 {
	for _, line := range strings.Split(s.text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// count is the number of series whose name starts with prefix.
func (s metricsScrape) count(prefix string) int {
	n := 0
	for _, x := range s.samples {
		if strings.HasPrefix(x.name, prefix) {
			n++
		}
	}
	return n
}

// withLabel counts series with label name set to value, or to anything when
// value is empty.
func (s metricsScrape) withLabel(name, value string) int {
	n := 0
	for _, x := range s.samples {
		if value == "" && strings.Contains(x.labels, name+`="`) || value != "" && strings.Contains(x.labels, name+`="`+value+`"`) {
			n++
		}
	}
	return n
}

// exports says whether name is a series name in the scrape, or a family whose
// _bucket, _count or _sum series it is.
func (s metricsScrape) exports(name string) bool {
	for _, x := range s.samples {
		if x.name == name {
			return true
		}
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && s.families[base] {
			return true
		}
	}
	return false
}

// dashboardExprs returns every PromQL expression of the provisioned Grafana
// dashboard: panel queries (also inside rows) and template variable queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "dashboards", "previewd.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
					exprs = append(exprs, labelValuesArg(s))
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(d)
	if len(exprs) < 10 {
		t.Fatalf("found only %d queries in the dashboard", len(exprs))
	}
	return exprs
}

// labelValuesArg turns Grafana's label_values(expr, label) into expr.
func labelValuesArg(q string) string {
	if m := regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`).FindStringSubmatch(q); m != nil {
		return m[1]
	}
	return q
}

var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promClauses  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promVars     = regexp.MustCompile(`\$\{?\w+\}?`)
	promTokens   = regexp.MustCompile(`[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true}
)

// metricNames returns the metric names a PromQL expression selects: the
// identifiers left once strings, label matchers, ranges, grouping clauses and
// variables are gone that are neither function calls nor keywords.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, " ")
	s = promMatchers.ReplaceAllString(s, " ")
	s = promVars.ReplaceAllString(s, " ")
	s = promClauses.ReplaceAllString(s, " ")
	var names []string
	for _, tok := range promTokens.FindAllString(s, -1) {
		tok = strings.TrimSpace(tok)
		if tok[0] >= '0' && tok[0] <= '9' || tok[0] == '.' || strings.HasSuffix(tok, "(") || promKeywords[strings.ToLower(tok)] {
			continue
		}
		names = append(names, tok)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr string
		want string
	}{
		{`sum(preview_active)`, "preview_active"},
		{`histogram_quantile(0.95, sum by (le, phase) (rate(preview_launch_duration_seconds_bucket{framework=~"$framework",phase=~"a|b"}[$__rate_interval])))`, "preview_launch_duration_seconds_bucket"},
		{`preview_container_memory_bytes / on (instance, job, preview_id) preview_container_memory_limit_bytes`, "preview_container_memory_bytes preview_container_memory_limit_bytes"},
		{`sum(rate(x_total{code=~"5.."}[5m])) / sum(rate(x_total[5m])) * 60 + 1e3`, "x_total x_total"},
		{`sort_desc(sum by (result) (increase(preview_launches_total{result!="success"}[$__range])))`, "preview_launches_total"},
		{`go_goroutines{job=~"previewd.*"} and bool process_resident_memory_bytes`, "go_goroutines process_resident_memory_bytes"},
		{labelValuesArg(`label_values(preview_launches_total, framework)`), "preview_launches_total"},
	} {
		if got := strings.Join(metricNames(c.expr), " "); got != c.want {
			t.Errorf("metricNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// requirePrometheusTool returns the path of a command; missing, it skips the test, or
// fails it when CI is set (CI installs Debian's prometheus package).
func requirePrometheusTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (Debian package prometheus)", name)
		}
		t.Skipf("%s not installed (Debian package prometheus)", name)
	}
	return p
}

// prometheusServer is a Prometheus started by a test.
type prometheusServer struct {
	url string
}

// startPrometheus runs Debian's prometheus with deploy/prometheus/prometheus.yml,
// its previewd target pointed at target, scraping every second, its database
// in a temporary directory; it is stopped when the test ends.
func startPrometheus(t *testing.T, target string) *prometheusServer {
	t.Helper()
	bin := requirePrometheusTool(t, "prometheus")
	repoConfig, err := os.ReadFile(filepath.Join("..", "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	config := string(repoConfig)
	for _, r := range [][2]string{
		{`"localhost:8080"`, strconv.Quote(target)},
		{`"localhost:9090"`, strconv.Quote(addr)},
		{"scrape_interval: 15s", "scrape_interval: 1s"},
		{"evaluation_interval: 15s", "evaluation_interval: 1s"},
	} {
		if !strings.Contains(config, r[0]) {
			t.Fatalf("deploy/prometheus/prometheus.yml no longer contains %s; update this test", r[0])
		}
		config = strings.ReplaceAll(config, r[0], r[1])
	}
	dir := t.TempDir()
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+configPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // ends when the process does
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	p := &prometheusServer{url: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30 s:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query runs an instant query and returns the values of its result vector (or
// scalar).
func (p *prometheusServer) query(q string) ([]float64, error) {
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s", body.Error)
	}
	var raw [][2]any
	switch body.Data.ResultType {
	case "vector":
		var vec []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(body.Data.Result, &vec); err != nil {
			return nil, err
		}
		for _, v := range vec {
			raw = append(raw, v.Value)
		}
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(body.Data.Result, &v); err != nil {
			return nil, err
		}
		raw = append(raw, v)
	default:
		return nil, fmt.Errorf("result type %s", body.Data.ResultType)
	}
	var out []float64
	for _, v := range raw {
		s, _ := v[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %w", v[1], err)
		}
		out = append(out, f)
	}
	return out, nil
}

// waitValue waits until the query returns one value that ok accepts.
func (p *prometheusServer) waitValue(t *testing.T, q string, ok func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		vals, err := p.query(q)
		if err == nil && len(vals) == 1 && ok(vals[0]) {
			t.Logf("%s = %v", q, vals[0])
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus: %s = %v (err %v) after 30 s", q, vals, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
