package server_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/previewd/previewd/sandbox"
)

// TestHostile launches the hostile generations of testdata/hostile one after
// another next to a quiet neighbour preview. For each it checks that the
// attack stays inside its container and is reported clearly, that the
// neighbour keeps answering, its p99 latency during the attack measured
// against 3× its idle p99 (and held to latencyBound), and that stopping the
// hostile preview leaves only the neighbour behind.
func TestHostile(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) {
		c.LogMaxLines, c.LogStoreBytes = floodMaxLines, floodMaxBytes
		c.OutputLinesPerSec = 500 // previewd's default
	})
	nb := e.launch("alice", e.upload("alice", "fastapi"), nil)
	mustStatus(t, nb, http.StatusCreated)
	n := neighbour{
		url:  nb.body["base_url"].(string) + "/",
		id:   nb.body["preview_id"].(string),
		port: int(nb.body["port"].(float64)),
	}

	// Idle p99, robustly: the median of three rounds' p99s.
	var rounds []time.Duration
	for range 3 {
		l := probeNeighbour(n.url, 100, nil)
		if len(l.fails) > 0 {
			t.Fatalf("the neighbour failed while idle: %v", l.fails)
		}
		rounds = append(rounds, l.quantile(0.99))
	}
	slices.Sort(rounds)
	idle := rounds[1]
	t.Logf("neighbour idle p99 per round %v: %v", rounds, idle)

	var rows []hostileRow
	began := time.Now()
	for _, c := range hostileCases {
		row := hostileRow{name: c.name, outcome: "(aborted: see the subtest's log)", idle: idle}
		var previewID string
		ran := false
		t.Run(c.name, func(t *testing.T) {
			ran = true
			h := launchHostile(t, e, c, n)
			previewID = h.id
			diskBefore := diskUsed(t)
			stop := make(chan struct{})
			measured := make(chan probeResult, 1)
			go func() { measured <- probeNeighbour(n.url, 0, stop) }()
			start := time.Now()
			returned := false
			defer func() { // also when the attack gives up with t.Fatal
				if rest := hostileWindow - time.Since(start); rest > 0 && returned {
					time.Sleep(rest)
				}
				close(stop)
				l := <-measured
				row.attack, row.samples = l.quantile(0.99), len(l.d)
				t.Logf("neighbour during %s: p50 %v, p99 %v over %d GETs (idle p99 %v, ratio %.2f)",
					c.name, l.quantile(0.5), row.attack, len(l.d), idle, row.ratio())
				if len(l.fails) > 0 {
					t.Errorf("the neighbour failed %d times during the attack: %v", len(l.fails), l.fails[:min(3, len(l.fails))])
				}
				if bound := latencyBound(idle); row.attack > bound {
					t.Errorf("the neighbour's p99 during the attack is %v, over its bound %v (idle p99 %v)", row.attack, bound, idle)
				}
				if delta := diskUsed(t) - diskBefore; delta > maxDiskDelta {
					t.Errorf("the host's disk filled by %.0f MiB during the attack", mib(uint64(delta)))
				}
				h.stop()
			}()
			row.outcome = c.attack(t, h)
			returned = true
			t.Logf("outcome: %s", row.outcome)
		})
		if ran { // not filtered out by -run
			rows = append(rows, row)
			e.checkOnlyNeighbour(t, c.name, previewID, n)
		}
	}

	if c := e.containers(); c != 1 {
		t.Errorf("%d containers at the end, want 1 (the neighbour)", c)
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-18s %10s %10s %6s %5s %4s  %s\n", "case", "idle p99", "attack p99", "ratio", "GETs", "goal", "outcome")
	for _, r := range rows {
		goal := "met"
		if r.ratio() > latencyGoal {
			goal = "over"
		}
		fmt.Fprintf(&table, "%-18s %10v %10v %6.2f %5d %4s  %s\n", r.name,
			r.idle.Round(10*time.Microsecond), r.attack.Round(10*time.Microsecond), r.ratio(), r.samples, goal, r.outcome)
	}
	t.Logf("hostile generations, %v in all:\n%s", time.Since(began).Round(time.Second), table.String())
}

const (
	// hostileWindow is how long each attack is watched (at least).
	hostileWindow = 5 * time.Second
	// probeEvery paces the neighbour's GETs: sequential requests as fast as
	// possible would spend its own half CPU and measure CFS throttling.
	probeEvery = 10 * time.Millisecond
	// idleFloor: see latencyBound.
	idleFloor = 10 * time.Millisecond
	// maxDiskDelta is how much the host's disk may change during an attack,
	// room for what other programs on the machine write meanwhile.
	maxDiskDelta = 200 << 20
	// The stored log's caps, small so that a 5 s flood exceeds them; one
	// insert may carry an eighth of a cap over, as in TestLogFlood.
	floodMaxLines, floodMaxBytes = 2_000, 256 << 10
)

// hostileCase is one attack: the app under testdata/hostile, launched with
// the default caps, and attack, which triggers it, watches it for about
// hostileWindow, asserts, and returns a one-line outcome.
type hostileCase struct {
	name   string
	app    string
	attack func(t *testing.T, h *hostile) string
	// witness launches a second copy of the app before the attack, for
	// attacks on what previews might share.
	witness bool
}

var hostileCases = []hostileCase{
	// A control: a harmless app watched as the attacks are, to tell the
	// harness's own load from an attack's.
	{name: "control", app: "reach-host", attack: attackNothing},
	{name: "fork-bomb", app: "fork-bomb", attack: attackForkBomb},
	{name: "memory-bomb", app: "memory-bomb", attack: attackMemoryBomb},
	{name: "child-memory-bomb", app: "child-memory-bomb", attack: attackChildMemoryBomb},
	{name: "cpu-spin", app: "cpu-spin", attack: attackCPUSpin},
	{name: "write-root", app: "disk-fill", attack: attackWriteRoot},
	{name: "write-rundir", app: "disk-fill", attack: attackWriteRunDir},
	{name: "write-tmp", app: "disk-fill", attack: attackWriteTmpfs("/tmp", "/app")},
	{name: "write-shm", app: "disk-fill", attack: attackWriteTmpfs("/dev/shm")},
	{name: "many-files", app: "many-files", attack: attackManyFiles},
	{name: "many-fds", app: "many-fds", attack: attackManyFDs},
	{name: "log-flood", app: "log-flood", attack: attackLogFlood},
	{name: "other-ports", app: "other-ports", attack: attackOtherPorts},
	{name: "reach-host", app: "reach-host", attack: attackReachHost},
	{name: "inotify-hog", app: "inotify-hog", attack: attackInotify, witness: true},
}

// hostileRow is one line of the summary table.
type hostileRow struct {
	name, outcome string
	idle, attack  time.Duration
	samples       int
}

func (r hostileRow) ratio() float64 { return float64(r.attack) / float64(r.idle) }

// latencyGoal is what the neighbour's p99 during an attack should stay
// within, as a multiple of its idle p99; the summary prints each ratio.
const latencyGoal = 3

// latencyBound is what the test enforces: 5× the idle p99, taken as at least
// idleFloor. It is looser than latencyGoal on purpose: on this 2-core
// machine the idle p99 itself ranges from 4 to 10 ms between rounds of one
// run (the race detector, the engine, PostgreSQL, other test packages), and
// an attacker burns its whole CPU cap.
func latencyBound(idle time.Duration) time.Duration {
	return 5 * max(idle, idleFloor)
}

type neighbour struct {
	url, id string
	port    int
}

// hostile is one running hostile preview.
type hostile struct {
	e             *env
	t             *testing.T
	gen, id, base string
	nb            neighbour
	pidCap        float64
	witness       *hostile // another preview of the same app, when the case asks for one
}

func launchHostile(t *testing.T, e *env, c hostileCase, nb neighbour) *hostile {
	var w *hostile
	if c.witness {
		w = launchApp(t, e, c.name+"-witness", c.app)
	}
	h := launchApp(t, e, c.name, c.app)
	h.nb, h.witness = nb, w
	return h
}

func launchApp(t *testing.T, e *env, name, app string) *hostile {
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": name, "files": sampleFiles(t, "../hostile/"+app)})
	mustStatus(t, r, http.StatusCreated)
	gen := r.body["id"].(string)
	r = e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	h := &hostile{e: e, t: t, gen: gen, id: r.body["preview_id"].(string), base: r.body["base_url"].(string)}
	st := h.status()
	h.pidCap = num(st["pids_limit"])
	return h
}

// status is the preview's status answer.
func (h *hostile) status() map[string]any {
	r := h.e.call("GET", "/api/v1/generations/"+h.gen+"/preview/status", "alice", "", nil)
	mustStatus(h.t, r, http.StatusOK)
	return r.body
}

// stop stops the preview (and its witness); repeating it is harmless.
func (h *hostile) stop() {
	mustStatus(h.t, h.e.call("DELETE", "/api/v1/generations/"+h.gen+"/preview", "alice", "", nil), http.StatusOK)
	if h.witness != nil {
		h.witness.stop()
	}
}

// request sends one request to the app and decodes a JSON answer into out
// (when out is not nil). A dead or hung app is an error, not a failure.
func (h *hostile) request(method, path string, body any, timeout time.Duration, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %q: %w", method, path, raw, err)
		}
	}
	return nil
}

// answers tells whether the app still answers its root.
func (h *hostile) answers() bool { return h.request("GET", "/", nil, 3*time.Second, nil) == nil }

// watch polls the status every 250 ms for d, or until it leaves running.
func (h *hostile) watch(d time.Duration, each func(st map[string]any)) map[string]any {
	var st map[string]any
	for end := time.Now().Add(d); ; time.Sleep(250 * time.Millisecond) {
		st = h.status()
		each(st)
		if st["status"] != "running" || time.Now().After(end) {
			return st
		}
	}
}

// kernelPidsRefused reads how many forks the pids cgroup of the preview's
// container refused at its cap ("max" in pids.events); known is false where
// that file is not found.
func (h *hostile) kernelPidsRefused() (n int, known bool) {
	return h.cgroupCount("max", func(id string) []string {
		return []string{
			"/sys/fs/cgroup/pids/docker/" + id + "/pids.events",
			"/sys/fs/cgroup/pids/system.slice/docker-" + id + ".scope/pids.events",
			"/sys/fs/cgroup/docker/" + id + "/pids.events",
			"/sys/fs/cgroup/system.slice/docker-" + id + ".scope/pids.events",
		}
	})
}

// kernelOOMKills reads the kernel's count of processes it killed for memory
// in the preview's container, from its memory cgroup; known is false where
// that file is not found.
func (h *hostile) kernelOOMKills() (n int, known bool) {
	return h.cgroupCount("oom_kill", func(id string) []string {
		return []string{
			"/sys/fs/cgroup/memory/docker/" + id + "/memory.oom_control",
			"/sys/fs/cgroup/docker/" + id + "/memory.events",
			"/sys/fs/cgroup/system.slice/docker-" + id + ".scope/memory.events",
		}
	})
}

// cgroupCount reads the "key N" line of the first of files (the places of
// one cgroup file under cgroupfs layouts of cgroup v1 and v2) that exists for
// the preview's container.
func (h *hostile) cgroupCount(key string, files func(containerID string) []string) (n int, known bool) {
	list, err := h.e.docker.Managed(h.t.Context())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, c := range list {
		if c.Labels[sandbox.LabelPreview] != h.id {
			continue
		}
		for _, f := range files(c.ID) {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, key+" "); ok {
					n, err := strconv.Atoi(v)
					return n, err == nil
				}
			}
		}
	}
	return 0, false
}

// systemLog returns the preview's stored system log lines, all pages of them.
func (h *hostile) systemLog() []string {
	var lines []string
	for since := 0.0; ; {
		r := h.e.call("GET", fmt.Sprintf("/api/v1/generations/%s/preview/logs?limit=10000&since=%.0f", h.gen, since), "alice", "", nil)
		mustStatus(h.t, r, http.StatusOK)
		page := r.body["lines"].([]any)
		if len(page) == 0 {
			return lines
		}
		for _, l := range page {
			if line := l.(map[string]any); line["stream"] == "system" {
				lines = append(lines, line["line"].(string))
			}
		}
		since = num(r.body["next_since"])
	}
}

// checkOnlyNeighbour checks, after a case, that the hostile preview's
// container is gone and the neighbour still answers.
func (e *env) checkOnlyNeighbour(t *testing.T, name, previewID string, n neighbour) {
	t.Helper()
	list, err := e.docker.Managed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if previewID != "" && c.Labels[sandbox.LabelPreview] == previewID {
			t.Errorf("after %s: its container %s is still there", name, c.ID[:12])
		}
	}
	if c := e.containers(); c != 1 {
		t.Errorf("after %s: %d containers, want 1 (the neighbour)", name, c)
	}
	if _, err := os.Stat(filepath.Join(e.cfg.RunRoot, previewID)); previewID != "" && !os.IsNotExist(err) {
		t.Errorf("after %s: its run directory on the host is still there (%v)", name, err)
	}
	if l := probeNeighbour(n.url, 3, nil); len(l.fails) > 0 {
		t.Errorf("after %s: the neighbour does not answer: %v", name, l.fails)
	}
}

func attackNothing(t *testing.T, h *hostile) string {
	st := h.watch(hostileWindow, func(map[string]any) {})
	if st["status"] != "running" || !h.answers() {
		t.Errorf("the harmless app stopped: %v", st)
	}
	return "no attack, status polled as in the others"
}

func attackForkBomb(t *testing.T, h *hostile) string {
	if err := h.request("POST", "/attack", nil, 5*time.Second, nil); err != nil {
		t.Fatalf("start the bomb: %v", err)
	}
	peak := 0.0
	st := h.watch(hostileWindow, func(st map[string]any) { peak = max(peak, num(st["pids"])) })
	answers := h.answers()
	if peak > h.pidCap {
		t.Errorf("pids reached %.0f, over the cap of %.0f", peak, h.pidCap)
	}
	// The status samples pids about once a second, and a fork bomb's count
	// swings; the pids cgroup counts every fork refused at the cap.
	refused, known := h.kernelPidsRefused()
	if peak < h.pidCap*3/4 && (!known || refused == 0) {
		t.Errorf("pids peaked at %.0f of %.0f and the kernel refused %d forks (known: %v): the bomb did not go off", peak, h.pidCap, refused, known)
	}
	if st["status"] != "running" && st["error"] == nil {
		t.Errorf("the preview ended without an error: %v", st)
	}
	return fmt.Sprintf("pids peaked at %.0f/%.0f (sampled), %d forks refused at the cap; status %v, app answers: %v, oom_kills %v",
		peak, h.pidCap, refused, st["status"], answers, st["oom_kills"])
}

func attackMemoryBomb(t *testing.T, h *hostile) string {
	err := h.request("POST", "/attack", nil, 30*time.Second, nil)
	if err == nil {
		t.Fatal("the memory bomb answered instead of being killed")
	}
	st := h.e.waitStatus("alice", h.gen, func(s map[string]any) bool { return s["status"] != "running" })
	msg, _ := st["error"].(string)
	if st["status"] != "failed" || st["oom_killed"] != true || st["exit_code"] != 137.0 || !strings.Contains(msg, "memory") {
		t.Errorf("status after the memory bomb: %v", st)
	}
	if !slices.ContainsFunc(h.systemLog(), func(l string) bool { return strings.Contains(l, "out of memory") }) {
		t.Errorf("no system log line says out of memory: %q", h.systemLog())
	}
	return fmt.Sprintf("%v, oom_killed %v, exit %v: %q", st["status"], st["oom_killed"], st["exit_code"], msg)
}

func attackChildMemoryBomb(t *testing.T, h *hostile) string {
	if err := h.request("POST", "/attack", nil, 5*time.Second, nil); err != nil {
		t.Fatalf("start the child: %v", err)
	}
	var child struct{ Returncode *int }
	for end := time.Now().Add(20 * time.Second); child.Returncode == nil && time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if err := h.request("GET", "/child", nil, 5*time.Second, &child); err != nil {
			t.Fatalf("the app died with its child: %v (status %v)", err, h.status())
		}
	}
	if child.Returncode == nil || *child.Returncode != -int(syscall.SIGKILL) {
		t.Fatalf("the child ended with %v, want killed by SIGKILL", child.Returncode)
	}
	// The status and the system line may come a stats sample later.
	var st map[string]any
	var said bool
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		st = h.status()
		said = slices.ContainsFunc(h.systemLog(), func(l string) bool { return strings.Contains(l, "out of memory") })
		if num(st["oom_kills"]) >= 1 && said {
			break
		}
	}
	answers := h.answers()
	if st["status"] != "running" || !answers {
		t.Errorf("the app did not survive its child's OOM kill: answers %v, status %v", answers, st)
	}
	kernel, known := h.kernelOOMKills()
	switch _, ok := st["oom_kills"]; {
	case !ok:
		t.Errorf("the status has no oom_kills: %v", st)
	case num(st["oom_kills"]) < 1:
		t.Errorf("oom_kills is %v after the child's OOM kill", st["oom_kills"])
	case known && num(st["oom_kills"]) != float64(kernel):
		t.Errorf("oom_kills is %v, but the kernel killed %d processes for memory in the container", st["oom_kills"], kernel)
	}
	if !said {
		t.Errorf("no system log line says out of memory: %q", h.systemLog())
	}
	return fmt.Sprintf("child SIGKILLed, app %v and answering %v; oom_kills %v (kernel: %d), system line %v",
		st["status"], answers, st["oom_kills"], kernel, said)
}

func attackCPUSpin(t *testing.T, h *hostile) string {
	var spin struct{ Threads int }
	if err := h.request("POST", "/attack?seconds="+strconv.Itoa(int(hostileWindow.Seconds())), nil, 5*time.Second, &spin); err != nil {
		t.Fatalf("start the spin: %v", err)
	}
	peak := 0.0
	st := h.watch(hostileWindow, func(st map[string]any) { peak = max(peak, num(st["cpu_percent"])) })
	limit := num(st["cpu_limit"]) * 100
	if peak > limit*1.25 {
		t.Errorf("cpu_percent reached %.0f, over the cap of %.0f", peak, limit)
	}
	if peak < limit/2 {
		t.Errorf("cpu_percent peaked at %.0f of %.0f: the spin did not show", peak, limit)
	}
	return fmt.Sprintf("%d spinning threads: cpu_percent peaked at %.0f (cap %.0f); app answers: %v", spin.Threads, peak, limit, h.answers())
}

// fillResult is disk-fill's answer for one directory.
type fillResult struct {
	Dir          string
	WrittenBytes int64  `json:"written_bytes"`
	Errno        int    `json:"errno"`
	ErrnoName    string `json:"errno_name"`
	Error        string `json:"error"`
}

func (f fillResult) String() string {
	return fmt.Sprintf("%s: %.0f MiB, %s", f.Dir, mib(uint64(f.WrittenBytes)), cmp.Or(f.ErrnoName, "no error"))
}

func fill(t *testing.T, h *hostile, mb int, dirs ...string) []fillResult {
	var out []fillResult
	body := map[string]any{"dirs": dirs, "mb": mb, "seconds": hostileWindow.Seconds()}
	if err := h.request("POST", "/write", body, 30*time.Second, &out); err != nil {
		t.Fatalf("write: %v (status %v)", err, h.status())
	}
	return out
}

func attackWriteRoot(t *testing.T, h *hostile) string {
	var mounts struct{ Mounts, Writable []string }
	if err := h.request("GET", "/mounts", nil, 10*time.Second, &mounts); err != nil {
		t.Fatal(err)
	}
	// Every writable place is capped: tmpfs in the container's memory, the
	// per-user message queue limit; /run/preview is write-rundir's case and
	// not probed.
	for _, m := range mounts.Writable {
		if !slices.Contains([]string{"/app", "/tmp", "/dev/shm", "/dev/mqueue"}, m) {
			t.Errorf("the app can write at %s (of mounts %v)", m, mounts.Mounts)
		}
	}
	res := fill(t, h, 2048, "/", "/usr/local/lib", "/var/tmp", "/etc", "/home", "/usr/bin", "/opt", "/srv")
	for _, r := range res {
		if r.Errno != int(syscall.EROFS) || r.WrittenBytes != 0 {
			t.Errorf("write to %s: %v, want EROFS", r.Dir, r)
		}
	}
	return fmt.Sprintf("%d root dirs: %s; writable mounts %v", len(res), res[0].ErrnoName, mounts.Writable)
}

// attackWriteRunDir writes into /run/preview, the host directory of the
// shim's sockets, every way the app can: plain files, and the ways that
// leave no name behind or claim space without writing it (O_TMPFILE,
// fallocate, a 10 GiB sparse file, hard links, a directory, a fifo). The
// kernel must refuse each, so the host's directory holds the two sockets
// alone, nothing lands on the host's disk, and the app runs on.
func attackWriteRunDir(t *testing.T, h *hostile) string {
	before := diskUsed(t)
	res := fill(t, h, 256, "/run/preview")
	for _, r := range res {
		if r.Errno != int(syscall.EACCES) || r.WrittenBytes != 0 {
			t.Errorf("write to %s: %v, want EACCES", r.Dir, r)
		}
	}
	var ways []struct {
		Way       string
		Bytes     int64
		Errno     int
		ErrnoName string `json:"errno_name"`
	}
	if err := h.request("POST", "/sneak", map[string]any{"dir": "/run/preview", "mb": 256}, 60*time.Second, &ways); err != nil {
		t.Fatalf("sneak: %v (status %v)", err, h.status())
	}
	var parts []string
	for _, w := range ways {
		// A link from another mount fails with EXDEV before the
		// directory's permission is asked.
		if w.Errno == 0 || w.Bytes != 0 {
			t.Errorf("%s into /run/preview: %d bytes, errno %q; want it refused", w.Way, w.Bytes, w.ErrnoName)
		}
		parts = append(parts, w.Way+": "+cmp.Or(w.ErrnoName, "done"))
	}
	if len(ways) < 8 {
		t.Errorf("the app tried %d ways, want 8: %v", len(ways), ways)
	}
	dir := filepath.Join(h.e.cfg.RunRoot, h.id)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"app.sock", "control.sock"}) {
		t.Errorf("the host's run directory holds %v, want the two sockets alone", names)
	}
	if used := dirUsage(t, dir); used > 64<<10 {
		t.Errorf("the host's run directory uses %d bytes", used)
	}
	delta := diskUsed(t) - before
	if delta > maxDiskDelta {
		t.Errorf("the host's disk grew %.0f MiB", mib(uint64(delta)))
	}
	if st := h.status(); st["status"] != "running" || !h.answers() {
		t.Errorf("after the refused writes the preview is %v, want it running and answering", st["status"])
	}
	return fmt.Sprintf("%s; %s; the disk's use grew %.0f MiB", res[0].ErrnoName, strings.Join(parts, ", "), mib(uint64(max(delta, 0))))
}

// dirUsage is the disk space that dir and the files in it take, in bytes.
func dirUsage(t *testing.T, dir string) int64 {
	var used int64
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			return err
		}
		used += st.Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return used
}

// attackWriteTmpfs fills size-capped tmpfs mounts: each must stop at its
// cap with ENOSPC, or the app must be killed for memory and say so.
func attackWriteTmpfs(dirs ...string) func(t *testing.T, h *hostile) string {
	return func(t *testing.T, h *hostile) string {
		caps := map[string]int64{"/tmp": int64(h.e.cfg.TmpMB) << 20, "/app": int64(h.e.cfg.WorkdirMB) << 20, "/dev/shm": 16 << 20}
		var out []fillResult
		body := map[string]any{"dirs": dirs, "mb": 2048, "seconds": hostileWindow.Seconds()}
		if err := h.request("POST", "/write", body, 30*time.Second, &out); err != nil {
			st := h.e.waitStatus("alice", h.gen, func(s map[string]any) bool { return s["status"] != "running" })
			if st["oom_killed"] != true || !strings.Contains(fmt.Sprint(st["error"]), "memory") {
				t.Fatalf("write failed (%v) and the status does not say out of memory: %v", err, st)
			}
			return fmt.Sprintf("OOM-killed: %v", st["error"])
		}
		var parts []string
		for _, r := range out {
			if r.Errno != int(syscall.ENOSPC) || r.WrittenBytes > caps[r.Dir] {
				t.Errorf("write to %s: %v, want ENOSPC at its cap of %.0f MiB", r.Dir, r, mib(uint64(caps[r.Dir])))
			}
			parts = append(parts, r.String())
		}
		// tmpfs pages are charged to the container's memory.
		st := h.e.waitStatus("alice", h.gen, func(s map[string]any) bool { return s["memory_bytes"] != nil })
		if m := num(st["memory_bytes"]); m > num(st["memory_limit_bytes"]) {
			t.Errorf("memory %v over the limit %v", m, st["memory_limit_bytes"])
		}
		return strings.Join(parts, "; ") + fmt.Sprintf("; memory %.0f MiB, app answers: %v", num(st["memory_bytes"])/(1<<20), h.answers())
	}
}

func attackManyFiles(t *testing.T, h *hostile) string {
	type fileErr struct {
		ErrnoName string `json:"errno_name"`
	}
	var res struct {
		SmallFiles    int      `json:"small_files"`
		SmallError    *fileErr `json:"small_error"`
		EmptyFiles    int      `json:"empty_files"`
		EmptyError    *fileErr `json:"empty_error"`
		Seconds       float64
		TmpFreeInodes int64 `json:"tmp_free_inodes"`
	}
	peak := 0.0
	done := make(chan error, 1)
	go func() {
		done <- h.request("POST", "/attack?seconds="+strconv.Itoa(int(hostileWindow.Seconds())), nil, 60*time.Second, &res)
	}()
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-time.After(250 * time.Millisecond):
			peak = max(peak, num(h.status()["memory_bytes"]))
		}
	}
	st := h.status()
	if err != nil {
		if st["status"] == "running" || st["oom_killed"] != true {
			t.Fatalf("the attack failed (%v) and the status does not say why: %v", err, st)
		}
		return fmt.Sprintf("OOM-killed: %v", st["error"])
	}
	if res.SmallError == nil || res.SmallError.ErrnoName != "ENOSPC" || res.SmallFiles > h.e.cfg.TmpMB<<20/4096 {
		t.Errorf("%d small files, then %+v: want ENOSPC at the /tmp cap", res.SmallFiles, res.SmallError)
	}
	if peak > num(st["memory_limit_bytes"]) {
		t.Errorf("memory peaked at %.0f MiB, over the limit", peak/(1<<20))
	}
	emptyEnd := "the deadline"
	if res.EmptyError != nil {
		emptyEnd = res.EmptyError.ErrnoName
	}
	return fmt.Sprintf("%d small files until %s, then %d empty ones until %s in %.1f s (%d inodes still free); memory peaked at %.0f MiB; app answers: %v",
		res.SmallFiles, res.SmallError.ErrnoName, res.EmptyFiles, emptyEnd, res.Seconds, res.TmpFreeInodes, peak/(1<<20), h.answers())
}

func attackManyFDs(t *testing.T, h *hostile) string {
	var res struct {
		NofileHard int    `json:"nofile_hard"`
		RaiseError string `json:"raise_error"`
		Opened     int
		Error      *struct {
			ErrnoName string `json:"errno_name"`
		}
	}
	hold := strconv.Itoa(int(hostileWindow.Seconds()))
	if err := h.request("POST", "/attack?hold="+hold, nil, 30*time.Second, &res); err != nil {
		t.Fatalf("attack: %v (status %v)", err, h.status())
	}
	nofile := int(h.e.cfg.NoFile)
	if res.NofileHard != nofile || res.RaiseError == "" || res.Error == nil || res.Error.ErrnoName != "EMFILE" ||
		res.Opened >= nofile || res.Opened < nofile-64 {
		t.Errorf("want the limit raise refused and EMFILE just under %d open files: %+v", nofile, res)
	}
	answers := h.answers()
	if !answers {
		t.Error("the app does not answer after closing its files")
	}
	return fmt.Sprintf("raise to 10000 refused (%s); opened %d, then %s at nofile %d; app answers after: %v",
		res.RaiseError, res.Opened, res.Error.ErrnoName, res.NofileHard, answers)
}

func attackLogFlood(t *testing.T, h *hostile) string {
	if err := h.request("POST", "/attack?seconds="+strconv.Itoa(int(hostileWindow.Seconds())), nil, 5*time.Second, nil); err != nil {
		t.Fatalf("start the flood: %v", err)
	}
	var peakLines, peakBytes int64
	var slowest time.Duration
	var count struct {
		Printed int64
		Done    bool
	}
	for !count.Done {
		start := time.Now()
		h.status() // previewd must keep answering
		slowest = max(slowest, time.Since(start))
		lines, bytes := h.e.storedLog(h.id)
		peakLines, peakBytes = max(peakLines, lines), max(peakBytes, bytes)
		if err := h.request("GET", "/count", nil, 5*time.Second, &count); err != nil {
			t.Fatalf("the flooding app: %v", err)
		}
		// Counting the stored log scans it; more often, the test's own
		// queries would weigh on the neighbour's latency being measured.
		time.Sleep(time.Second)
	}
	h.stop()
	lines, bytes := h.e.storedLog(h.id)
	peakLines, peakBytes = max(peakLines, lines), max(peakBytes, bytes)
	// The final count of dropped lines may be stored just after the stop.
	var sys []string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if sys = h.systemLog(); len(sys) > 0 && strings.Contains(sys[len(sys)-1], "dropped") {
			break
		}
	}
	if count.Printed <= floodMaxLines {
		t.Errorf("the flood printed only %d lines, under the cap of %d", count.Printed, floodMaxLines)
	}
	if peakLines > floodMaxLines*9/8 || peakBytes > floodMaxBytes*9/8 {
		t.Errorf("stored up to %d lines and %d bytes, caps %d and %d", peakLines, peakBytes, floodMaxLines, floodMaxBytes)
	}
	if len(sys) == 0 || !strings.Contains(sys[len(sys)-1], "dropped") {
		t.Errorf("the last system line does not tell the dropped lines: %q", sys)
	}
	if slowest > 2*time.Second {
		t.Errorf("a status call took %v during the flood", slowest)
	}
	return fmt.Sprintf("printed %d lines; stored peak %d lines / %.1f MiB; slowest status call %v; last system line %q",
		count.Printed, peakLines, mib(uint64(peakBytes)), slowest.Round(time.Millisecond), sys[max(0, len(sys)-1):])
}

func attackOtherPorts(t *testing.T, h *hostile) string {
	marker := uuid.NewString()
	apiPort := h.e.api.Listener.Addr().(*net.TCPAddr).Port
	ports := []int{9000, 8001, h.nb.port, apiPort}
	var bound []struct {
		Port  int
		Host  string
		OK    bool
		Error string
	}
	list := make([]string, len(ports))
	for i, p := range ports {
		list[i] = strconv.Itoa(p)
	}
	q := url.Values{"token": {marker}, "ports": {strings.Join(list, ",")}}
	if err := h.request("POST", "/attack?"+q.Encode(), nil, 10*time.Second, &bound); err != nil {
		t.Fatalf("attack: %v", err)
	}
	for _, b := range bound {
		if !b.OK && b.Host == "0.0.0.0" {
			t.Errorf("the app could not listen on %d (%s): the attack did not happen", b.Port, b.Error)
		}
	}
	addrs := append([]string{"::1"}, hostAddresses(t)...)
	var connected []string
	for _, a := range addrs {
		for _, p := range ports {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(a, strconv.Itoa(p)), 500*time.Millisecond)
			if err != nil {
				continue
			}
			connected = append(connected, net.JoinHostPort(a, strconv.Itoa(p))) // the host's own listener
			c.SetDeadline(time.Now().Add(500 * time.Millisecond))
			fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
			b, _ := io.ReadAll(c)
			c.Close()
			if bytes.Contains(b, []byte(marker)) {
				t.Errorf("the host reached the app's listener at %s:%d", a, p)
			}
		}
	}
	var root map[string]any
	if err := h.request("GET", "/", nil, 3*time.Second, &root); err != nil || root["message"] != "hello from the port squatter" {
		t.Errorf("base_url no longer reaches the app: %v %v", root, err)
	}
	return fmt.Sprintf("listened on %v in the container; from the host on %v, only the host's own %v answered",
		ports, addrs, connected)
}

func attackReachHost(t *testing.T, h *hostile) string {
	pg, err := url.Parse(cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	apiPort := strconv.Itoa(h.e.api.Listener.Addr().(*net.TCPAddr).Port)
	nbPort := strconv.Itoa(h.nb.port)
	targets := []map[string]string{
		{"tcp": "127.0.0.1:8000"}, // control: the app itself, which must work
		{"unix": "/var/run/docker.sock"}, {"unix": "/run/docker.sock"},
		{"unix": "/run/containerd/containerd.sock"}, {"unix": "/run/docker/containerd/containerd.sock"},
		{"unix": filepath.Join(h.e.cfg.RunRoot, h.nb.id, "app.sock")}, // the neighbour's relay, by its host path
	}
	for _, a := range hostAddresses(t) {
		for _, p := range []string{"2375", "2376", apiPort, nbPort, pg.Port()} {
			targets = append(targets, map[string]string{"tcp": net.JoinHostPort(a, p)})
		}
	}
	for p := h.e.portStart; p <= h.e.portEnd; p++ { // every preview port of the pool
		targets = append(targets, map[string]string{"tcp": "127.0.0.1:" + strconv.Itoa(p)})
	}
	for _, name := range abstractSockets(t, 8) {
		targets = append(targets, map[string]string{"unix": name})
	}
	var res []struct {
		TCP, Unix, Error string
		OK               bool
	}
	if err := h.request("POST", "/attack", targets, 60*time.Second, &res); err != nil {
		t.Fatalf("attack: %v", err)
	}
	if len(res) != len(targets) || !res[0].OK {
		t.Fatalf("the control probe of the app's own port failed: %+v", res[:min(1, len(res))])
	}
	errs := map[string]int{}
	for _, r := range res[1:] {
		if r.OK {
			t.Errorf("the app reached %s%s", r.TCP, r.Unix)
		}
		_, e, _ := strings.Cut(r.Error, ": ") // the errno, without the exception's name
		errs[e]++
	}
	if _, err := os.Stat("/var/run/docker.sock"); err != nil {
		t.Logf("note: the host has no /var/run/docker.sock (%v)", err)
	}
	return fmt.Sprintf("%d targets unreachable: %v", len(res)-1, errs)
}

// hostAddresses is the host's IPv4 addresses, loopback and the default
// bridge's first.
func hostAddresses(t *testing.T) []string {
	addrs := []string{"127.0.0.1", "172.17.0.1"}
	for _, a := range hostAddrs(t) {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// attackInotify takes every inotify instance the app's user may have, and
// checks that another preview can still make one: the kernel's limit is per
// user, so previews must not share theirs.
func attackInotify(t *testing.T, h *hostile) string {
	witness := h.witness
	type probe struct {
		OK    bool
		Error string
	}
	var before, during probe
	if err := witness.request("GET", "/probe", nil, 5*time.Second, &before); err != nil || !before.OK {
		t.Fatalf("the other preview cannot make an inotify instance even before the attack: %+v %v", before, err)
	}
	var held struct {
		Held      int
		ErrnoName string `json:"errno_name"`
	}
	hold := strconv.Itoa(int(hostileWindow.Seconds()))
	if err := h.request("POST", "/attack?hold="+hold, nil, 10*time.Second, &held); err != nil {
		t.Fatalf("attack: %v", err)
	}
	if err := witness.request("GET", "/probe", nil, 5*time.Second, &during); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if !during.OK {
		t.Errorf("while the app holds %d inotify instances (then %s), another preview cannot make one: %s",
			held.Held, held.ErrnoName, during.Error)
	}
	return fmt.Sprintf("the app took %d inotify instances (then %s); another preview's inotify_init: %s",
		held.Held, held.ErrnoName, cmp.Or(during.Error, "ok"))
}

// abstractSockets lists up to n abstract unix socket names on the host.
func abstractSockets(t *testing.T, n int) []string {
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Logf("no /proc/net/unix: %v", err)
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 8 && strings.HasPrefix(f[7], "@") && !slices.Contains(names, f[7]) && len(names) < n {
			names = append(names, f[7])
		}
	}
	return names
}

// probeResult is the neighbour's latencies and failures of one measurement.
type probeResult struct {
	d     []time.Duration
	fails []string
}

// quantile is the nearest-rank q-quantile.
func (p probeResult) quantile(q float64) time.Duration {
	if len(p.d) == 0 {
		return 0
	}
	d := slices.Sorted(slices.Values(p.d))
	return d[max(0, int(math.Ceil(q*float64(len(d))))-1)]
}

// probeNeighbour sends n paced GETs to u (n == 0: until stop is closed), each
// on a new connection, so that every one goes all the way through previewd's
// forwarder and the shim's relay.
func probeNeighbour(u string, n int, stop <-chan struct{}) probeResult {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	var p probeResult
	for i := 0; n == 0 || i < n; i++ {
		start := time.Now()
		resp, err := client.Get(u)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		if err != nil {
			p.fails = append(p.fails, err.Error())
		} else {
			p.d = append(p.d, time.Since(start))
		}
		select {
		case <-stop:
			return p
		case <-tick.C:
		}
	}
	return p
}

// diskUsed is the used bytes of the filesystem holding Docker's data.
func diskUsed(t *testing.T) int64 {
	var s syscall.Statfs_t
	if err := syscall.Statfs("/var/lib/docker", &s); err != nil {
		t.Fatal(err)
	}
	return int64(s.Blocks-s.Bfree) * s.Bsize
}

// num reads a JSON number; a missing or null one is -1.
func num(v any) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return -1
}
