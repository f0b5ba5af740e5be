package server_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox/cause"
)

// brokenRoot holds the corpus of broken apps and its manifest.
var brokenRoot = filepath.Join("..", "testdata", "broken")

// brokenCorpus reads the manifest of testdata/broken.
func brokenCorpus(t testing.TB) []cause.Expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(brokenRoot, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want []cause.Expected
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

// brokenFiles reads one broken app as the JSON upload's file list.
func brokenFiles(t testing.TB, app string) []map[string]string {
	t.Helper()
	return dirFiles(t, filepath.Join(brokenRoot, app))
}

// capture is what a broken app printed and how it ended, kept in
// testdata/broken/captures for the parser's table test.
type capture struct {
	Output   []string `json:"output"`
	ExitCode *int     `json:"exit_code"`
	OOM      bool     `json:"oom_killed"`
	TimedOut bool     `json:"timed_out"`
	// Sockets are the addresses the shim saw the app listen on, as the
	// cause reported them.
	Sockets []cause.Socket `json:"sockets,omitempty"`
	// PidsRefused is how many processes or threads the pids cgroup
	// refused the app, as the cause reported it.
	PidsRefused int `json:"pids_refused,omitempty"`
}

// TestBrokenCorpus launches every app of testdata/broken through the API and
// checks the cause of its failed launch: the kind for at least 95% of them,
// the app's own file and line for at least 90% of those that have one. It
// prints the confusion table. With CAUSE_CAPTURE=1 it also writes what each
// app printed to testdata/broken/captures; CAUSE_APPS=a,b runs only those.
func TestBrokenCorpus(t *testing.T) {
	requireInfra(t, true)
	// A start time-out long enough for a slow start on a loaded machine (an
	// app that has not printed anything yet is not a broken one; see the
	// second try below), short enough that the never-listening apps, which
	// each wait all of it, do not make this the slowest test of the package.
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) { c.StartTimeout = 20 * time.Second })
	want := brokenCorpus(t)
	if only := os.Getenv("CAUSE_APPS"); only != "" {
		// A comma-separated subset, to look at a few apps.
		var some []cause.Expected
		for _, w := range want {
			if strings.Contains(","+only+",", ","+w.App+",") {
				some = append(some, w)
			}
		}
		want = some
	}
	type result struct {
		got  cause.Cause
		body response
	}
	results := make([]result, len(want))
	// Four at a time, the never-listening apps first: each of them waits the
	// whole start time-out, and the machine is small.
	order := make([]int, len(want))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(boolInt(want[b].Kind == "port_not_opened"), boolInt(want[a].Kind == "port_not_opened"))
	})
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, i := range order {
		w := want[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": w.App, "files": brokenFiles(t, w.App)})
			if r.status != http.StatusCreated {
				t.Errorf("upload %s: %d %s", w.App, r.status, r.raw)
				return
			}
			gen := r.body["id"].(string)
			lr := e.launch("alice", gen, nil)
			if tail, _ := lr.errorField("log_tail").([]any); lr.status == http.StatusUnprocessableEntity && len(tail) == 0 && lr.errorField("exit_code") == nil {
				// Every app of the corpus prints something or exits within
				// the time-out on an idle machine; one that did neither was
				// starved of CPU by the other tests on a loaded one, and
				// gets one more try.
				t.Logf("%s printed nothing within the start time-out; launching it again", w.App)
				lr = e.launch("alice", gen, nil)
			}
			results[i].body = lr
			if lr.status != http.StatusUnprocessableEntity || lr.errorCode() != "launch_failed" {
				t.Errorf("%s: got %d %s, want 422 launch_failed", w.App, lr.status, lr.raw)
				return
			}
			raw, _ := json.Marshal(lr.errorField("cause"))
			if err := json.Unmarshal(raw, &results[i].got); err != nil {
				t.Errorf("%s: cause %s: %v", w.App, raw, err)
			}
			st := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
			stRaw, _ := json.Marshal(st.body["cause"])
			if string(stRaw) != string(raw) {
				t.Errorf("%s: status cause %s, launch cause %s", w.App, stRaw, raw)
			}
			events, err := e.collect(context.Background(), gen, "alice", "", 0)
			if err != nil {
				t.Errorf("%s: log stream: %v", w.App, err)
			}
			var sawCause bool
			for _, ev := range events {
				var data map[string]any
				if ev.event != "status" || json.Unmarshal([]byte(ev.data), &data) != nil || data["status"] != "failed" {
					continue
				}
				evRaw, _ := json.Marshal(data["cause"])
				sawCause = string(evRaw) == string(raw)
			}
			if !sawCause {
				t.Errorf("%s: no event: status with the cause %s in %v", w.App, raw, events)
			}
			if len(w.MissingEnv) > 0 && fmt.Sprint(lr.errorField("missing_env")) != fmt.Sprint(w.MissingEnv) {
				t.Errorf("%s: missing_env %v, want %v", w.App, lr.errorField("missing_env"), w.MissingEnv)
			}
			if os.Getenv("CAUSE_CAPTURE") != "" {
				writeCapture(t, e, gen, w.App, lr)
			}
		}()
	}
	wg.Wait()
	var score cause.Score
	for i, w := range want {
		score.Add(w, results[i].got)
	}
	t.Logf("confusion table of %d broken apps:\n%s", len(want), score.Table())
	for _, m := range score.Misses {
		t.Log("miss: " + m)
	}
	if score.KindRate() < 0.95 || score.PlaceRate() < 0.90 {
		t.Fatalf("kind right %.0f%% (want ≥ 95%%), file:line right %.0f%% (want ≥ 90%%)", 100*score.KindRate(), 100*score.PlaceRate())
	}
	if n := e.containers(); n != 0 {
		t.Fatalf("%d containers left after the failed launches", n)
	}
}

// writeCapture stores what the app printed (its stdout and stderr lines from
// the log) and how it ended.
func writeCapture(t *testing.T, e *env, gen, app string, lr response) {
	lg := e.call("GET", "/api/v1/generations/"+gen+"/preview/logs?limit=1000", "alice", "", nil)
	var body struct {
		Lines []struct {
			Stream string `json:"stream"`
			Line   string `json:"line"`
		} `json:"lines"`
	}
	if err := json.Unmarshal(lg.raw, &body); err != nil {
		t.Errorf("%s: logs: %v", app, err)
		return
	}
	c := capture{Output: []string{}}
	for _, l := range body.Lines {
		if l.Stream == "stdout" || l.Stream == "stderr" || l.Stream == "build" {
			c.Output = append(c.Output, l.Line)
		}
	}
	if code, ok := lr.errorField("exit_code").(float64); ok {
		n := int(code)
		c.ExitCode = &n
	}
	c.OOM, _ = lr.errorField("oom_killed").(bool)
	var why cause.Cause
	raw, _ := json.Marshal(lr.errorField("cause"))
	if json.Unmarshal(raw, &why) == nil {
		c.Sockets, c.PidsRefused = why.Listening, why.PidsRefused
	}
	msg, _ := lr.errorField("message").(string)
	c.TimedOut = strings.Contains(msg, "did not answer HTTP within")
	b, _ := json.MarshalIndent(c, "", "  ")
	dir := filepath.Join(brokenRoot, "captures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Error(err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, app+".json"), append(b, '\n'), 0o644); err != nil {
		t.Error(err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
