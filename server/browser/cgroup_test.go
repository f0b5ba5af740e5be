package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestPlanCgroup(t *testing.T) {
	v1 := "12:pids:/\n11:memory:/svc/previewd\n0::/\n"
	tests := []struct {
		name    string
		self    string
		v2      bool
		dirs    []string
		files   []string
		wantErr bool
	}{
		{"v1", v1, false, []string{"/cg/memory/svc/previewd/b", "/cg/pids/b"},
			[]string{"/cg/memory/svc/previewd/b/memory.limit_in_bytes=268435456", "/cg/memory/svc/previewd/b/memory.memsw.limit_in_bytes=268435456", "/cg/pids/b/pids.max=64"}, false},
		{"v1 joined controllers", "4:memory,pids:/x\n", false, []string{"/cg/memory/x/b", "/cg/pids/x/b"},
			[]string{"/cg/memory/x/b/memory.limit_in_bytes=268435456", "/cg/memory/x/b/memory.memsw.limit_in_bytes=268435456", "/cg/pids/x/b/pids.max=64"}, false},
		{"v2", "0::/system.slice/previewd.service\n", true, []string{"/cg/system.slice/previewd.service/b"},
			[]string{"/cg/system.slice/previewd.service/b/memory.max=268435456", "/cg/system.slice/previewd.service/b/memory.swap.max=0", "/cg/system.slice/previewd.service/b/pids.max=64"}, false},
		{"v1 without pids", "11:memory:/\n", false, nil, nil, true},
		{"v2 without its line", v1[:len(v1)-len("0::/\n")], true, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planCgroup("/cg", []byte(tt.self), tt.v2, "b", 256, 64)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			var files []string
			for _, w := range p.writes {
				files = append(files, w.file+"="+w.value)
			}
			if !slices.Equal(p.dirs, tt.dirs) || !slices.Equal(files, tt.files) {
				t.Errorf("dirs %q writes %q, want %q %q", p.dirs, files, tt.dirs, tt.files)
			}
		})
	}
}

// cappedBrowser starts a browser with a memory cap, or skips where there is
// no Chromium or no writable cgroup (both failures in CI).
func cappedBrowser(t *testing.T, memoryMB int) *Browser {
	t.Helper()
	path, err := Find("")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no chromium for the browser tests: %v", err)
		}
		t.Skipf("no chromium: %v", err)
	}
	b := New(Options{ExecPath: path, PageTimeout: 30 * time.Second, MemoryMB: memoryMB})
	t.Cleanup(b.Close)
	if err := b.Warm(); err != nil {
		t.Fatal(err)
	}
	if b.cg == nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the browser runs without a cap: %s", b.Cap())
		}
		t.Skipf("the browser runs without a cap: %s", b.Cap())
	}
	return b
}

// browserPid is the process id of the running browser.
func (b *Browser) browserPid(t *testing.T) int {
	t.Helper()
	b.mu.Lock()
	ctx := b.ctx
	b.mu.Unlock()
	c := chromedp.FromContext(ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		t.Fatal("no browser process")
	}
	return c.Browser.Process().Pid
}

func readInt(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return n
}

// TestBrowserCapped: the browser process and the processes it forks run in
// the browser's cgroup with the caps asked for; the test's own process
// (previewd's) does not.
func TestBrowserCapped(t *testing.T) {
	b := cappedBrowser(t, 384)
	name := filepath.Base(b.cg.dirs[0])
	pid := b.browserPid(t)
	own, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(own), "/"+name+"\n") != len(b.cg.dirs) {
		t.Fatalf("the browser (pid %d) runs in\n%s\nnot in %s", pid, own, name)
	}
	if self, _ := os.ReadFile("/proc/self/cgroup"); strings.Contains(string(self), name) {
		t.Fatalf("previewd's own process is in the browser's cgroup:\n%s", self)
	}
	memDir, pidsDir := b.cg.dirs[0], b.cg.dirs[len(b.cg.dirs)-1]
	limit := filepath.Join(memDir, "memory.limit_in_bytes")
	if _, err := os.Stat(limit); err != nil {
		limit = filepath.Join(memDir, "memory.max") // v2
	}
	if got := readInt(t, limit); got != 384<<20 {
		t.Errorf("memory cap %d, want %d", got, 384<<20)
	}
	if got := readInt(t, filepath.Join(pidsDir, "pids.max")); got != DefaultPids {
		t.Errorf("pids cap %d, want %d", got, DefaultPids)
	}
	if n := readInt(t, filepath.Join(pidsDir, "pids.current")); n < 2 {
		t.Errorf("%d tasks in the browser's cgroup: its child processes are not in it", n)
	}
	if !strings.HasPrefix(b.Cap(), "cgroup v") {
		t.Errorf("Cap() = %q", b.Cap())
	}
	dirs := b.cg.dirs
	b.Close()
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s is left after Close: %v", d, err)
		}
	}
}

// hogPage allocates memory without end.
const hogPage = `<!doctype html><title>hog</title><h1>hog</h1>
<script>
const keep = [];
function grow() {
  for (let i = 0; i < 4; i++) { const a = new Uint8Array(16 << 20); a.fill(7); keep.push(a); }
  setTimeout(grow, 0);
}
grow();
</script>`

// oomKills reads the oom_kill counter of a memory cgroup.
func oomKills(t *testing.T, dir string) int {
	t.Helper()
	for _, f := range []string{"memory.oom_control", "memory.events"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n
			}
		}
	}
	t.Fatalf("no oom_kill counter in %s", dir)
	return 0
}

// TestBrowserOverCap: a page that eats memory past the cap brings the OOM
// killer onto the browser's cgroup (it counts the kills); the test's
// process, previewd's, lives on, and the next page renders, on a browser
// started again when the one killed was the browser itself.
func TestBrowserOverCap(t *testing.T) {
	b := cappedBrowser(t, 256)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/hog" {
			fmt.Fprint(w, hogPage)
			return
		}
		fmt.Fprint(w, "<!doctype html><title>fine</title><h1>fine</h1>")
	}))
	defer srv.Close()
	memDir := b.cg.dirs[0]
	ctx := context.Background()
	page, err := b.Render(ctx, srv.URL+"/hog", nil)
	t.Logf("hog page: error %v, page error %q", err, page.Error)
	if err == nil && page.Error == "" && page.Screenshot != nil {
		t.Errorf("a page past the memory cap rendered: %+v", page)
	}
	// v1 counts the kills in memory.oom_control, v2 in memory.events.
	if n := oomKills(t, memDir); n == 0 {
		t.Errorf("no OOM kill in the browser's cgroup")
	}
	page, err = b.Render(ctx, srv.URL+"/", nil)
	if err != nil || page.Status != 200 || page.Title != "fine" || page.Screenshot == nil {
		t.Fatalf("the page after the hog: %+v, %v", page, err)
	}
}
