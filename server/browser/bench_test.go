package browser

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const onePage = `<!doctype html><title>one page</title>
<h1 id="h">hello</h1><ul id="list"></ul>
<script>
for (let i = 0; i < 200; i++) { const li = document.createElement("li"); li.textContent = "item " + i; document.getElementById("list").append(li); }
console.error("a console error on every page");
</script>`

// BenchmarkMemoryAfter100Pages renders a one-page app 100 times (b.N times
// that, with -benchtime Nx) and prints this process's Go heap and the
// browser's memory (the proportional set size of its processes) before and
// after, each once the garbage collector has run.
// Run: go test ./server/browser -run '^$' -bench MemoryAfter100Pages -benchtime 1x
func BenchmarkMemoryAfter100Pages(b *testing.B) {
	path, err := Find("")
	if err != nil {
		b.Skip("no chromium")
	}
	br := New(Options{ExecPath: path, PageTimeout: 30 * 1e9})
	defer br.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(onePage))
	}))
	defer srv.Close()
	render := func() {
		p, err := br.Render(context.Background(), srv.URL+"/", nil)
		if err != nil || p.Title != "one page" || len(p.Screenshot) == 0 || len(p.Console) != 1 {
			b.Fatalf("render: %+v, %v", p.Error, err)
		}
	}
	for range 3 { // the browser and its first renderers start
		render()
	}
	heap0, chrome0 := heapInUse(), descendantsPSS()
	b.ResetTimer()
	for i := 0; i < b.N*100; i++ {
		render()
	}
	b.StopTimer()
	heap1, chrome1 := heapInUse(), descendantsPSS()
	b.ReportMetric(float64(heap1)/(1<<20), "heap-after-MiB")
	b.ReportMetric(float64(chrome1)/(1<<20), "chromium-after-MiB")
	b.Logf("after %d pages: Go heap in use %.1f → %.1f MiB; chromium PSS %.1f → %.1f MiB",
		b.N*100, float64(heap0)/(1<<20), float64(heap1)/(1<<20), float64(chrome0)/(1<<20), float64(chrome1)/(1<<20))
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// descendantsPSS sums the proportional set size of this process's
// descendants (the browser's processes).
func descendantsPSS() uint64 {
	parent := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		rest := stat[bytes.LastIndexByte(stat, ')')+2:]
		fields := strings.Fields(string(rest))
		if len(fields) > 1 {
			parent[pid], _ = strconv.Atoi(fields[1])
		}
	}
	self := os.Getpid()
	var total uint64
	for pid := range parent {
		p := parent[pid]
		for p != 0 && p != self {
			p = parent[p]
		}
		if p != self {
			continue
		}
		f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				total += kb << 10
			}
		}
		f.Close()
	}
	return total
}
