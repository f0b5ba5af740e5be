package endpoints

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox/framework"
)

// routeFile is a FastAPI module of n routes: as many as fit in the file,
// the way a generator that loops without end writes them.
func routeFile(n int) []byte {
	var b strings.Builder
	b.WriteString("from fastapi import FastAPI\n\napp = FastAPI()\n\n")
	for i := range n {
		fmt.Fprintf(&b, "@app.get(\"/items/%d/{item_id}\")\ndef get_%d(item_id: int, q: str = None):\n    \"\"\"Item %d.\"\"\"\n    return {}\n\n", i, i, i)
	}
	return []byte(b.String())
}

// includeChain is a FastAPI app whose routers each include the next one
// twice: 2^depth copies of the one route at the end, from a few hundred
// bytes of source.
func includeChain(depth int) map[string][]byte {
	var b strings.Builder
	b.WriteString("from fastapi import FastAPI, APIRouter\n\napp = FastAPI()\n")
	for i := range depth + 1 {
		fmt.Fprintf(&b, "r%d = APIRouter()\n", i)
	}
	fmt.Fprintf(&b, "\n@r%d.get(\"/x\")\ndef x():\n    return 1\n\n", depth)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "r%d.include_router(r%d, prefix=\"/a\")\nr%d.include_router(r%d, prefix=\"/b\")\n", i, i+1, i, i+1)
	}
	b.WriteString("app.include_router(r0)\n")
	return map[string][]byte{"main.py": []byte(b.String())}
}

func TestExtractLimits(t *testing.T) {
	small := routeFile(3)
	tests := []struct {
		name   string
		files  map[string][]byte
		lim    Limits
		routes int    // endpoints listed
		reason string // "" when nothing is cut
	}{
		{name: "within limits", files: map[string][]byte{"main.py": small}, routes: 3},
		{
			name:  "file over MaxFileBytes",
			files: map[string][]byte{"a.py": small, "big.py": routeFile(100)},
			lim:   Limits{MaxFileBytes: 2000}, routes: 3,
			reason: `1 file ("big.py") larger than 2000 bytes not parsed`,
		},
		{
			name:  "files over MaxBytes, in path order",
			files: map[string][]byte{"a.py": small, "b.py": small, "c.py": small},
			lim:   Limits{MaxBytes: 2*len(small) + 1}, routes: 3, // one app: a.py's and b.py's routes merge
			reason: `1 file ("c.py") not parsed`,
		},
		{
			name:  "file over MaxFileNodes",
			files: map[string][]byte{"a.py": small, "big.py": routeFile(50)},
			lim:   Limits{MaxFileNodes: 1000}, routes: 3,
			reason: `1 file ("big.py") with more than 1000 syntax nodes left out`,
		},
		{
			name:  "files over MaxNodes",
			files: map[string][]byte{"a.py": routeFile(50), "b.py": routeFile(50)},
			lim:   Limits{MaxNodes: 3000}, routes: 50, // 2317 nodes each
			reason: "the generation's syntax trees reached 3000 nodes",
		},
		{
			name:  "nesting over MaxDepth",
			files: map[string][]byte{"a.py": small, "deep.py": []byte("x = " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300) + "\n")},
			lim:   Limits{MaxDepth: 100}, routes: 3,
			reason: `1 file ("deep.py") nested deeper than 100 levels left out`,
		},
		{
			name:  "parse memory",
			files: map[string][]byte{"a.py": small, "dense.py": []byte("x = [" + strings.Repeat("a,", 128_000) + "]\n")},
			lim:   Limits{MaxFileNodes: 1 << 30, MaxNodes: 1 << 30}, routes: 3,
			reason: `1 file ("dense.py") left out: parsing took more than 48 MiB`,
		},
		{
			name:  "routes over MaxFileRoutes",
			files: map[string][]byte{"a.py": routeFile(30)},
			lim:   Limits{MaxFileRoutes: 20}, routes: 20,
			reason: `routes of 1 file ("a.py") beyond 20 per file left out`,
		},
		{
			name:  "included routers multiply routes up to MaxRoutes",
			files: includeChain(24), // 16.7 million routes unbounded
			lim:   Limits{MaxRoutes: 1000}, routes: 1000,
			reason: "routes beyond 1000 left out",
		},
		{
			name:  "route bytes over MaxRouteBytes",
			files: map[string][]byte{"main.py": []byte(strings.ReplaceAll(string(routeFile(100)), "/items/", "/"+strings.Repeat("i", 10_000)+"/"))},
			lim:   Limits{MaxFileBytes: 2 << 20, MaxRouteBytes: 50_000}, routes: 4,
			reason: "routes beyond 50000 bytes of paths, summaries and descriptions left out",
		},
		{
			name:  "time",
			files: map[string][]byte{"main.py": small},
			lim:   Limits{Timeout: time.Nanosecond}, routes: 0,
			reason: "discovery stopped after 1ns",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res, err := Extract(context.Background(), framework.FastAPI, tt.files, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Endpoints) != tt.routes {
				t.Errorf("%d endpoints, want %d", len(res.Endpoints), tt.routes)
			}
			reasons := strings.Join(res.Reasons, "; ")
			if tt.reason == "" {
				if res.Truncated || reasons != "" {
					t.Errorf("truncated %v: %q, want nothing cut", res.Truncated, reasons)
				}
			} else if !res.Truncated || !strings.Contains(reasons, tt.reason) || len(res.Reasons) != 1 {
				t.Errorf("truncated %v: %q, want one reason, %q", res.Truncated, reasons, tt.reason)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// TestExtractLimitsJavaScript: the Express side reads through the same
// parser and budget.
func TestExtractLimitsJavaScript(t *testing.T) {
	var b strings.Builder
	b.WriteString("const express = require('express');\nconst app = express();\n")
	for i := range 30 {
		fmt.Fprintf(&b, "app.get('/r%d/:id', (req, res) => res.send('x'));\n", i)
	}
	b.WriteString("app.listen(3000);\n")
	files := map[string][]byte{"app.js": []byte(b.String()), "zbig.js": []byte(strings.Repeat("// pad\n", 1000))}
	res, err := Extract(context.Background(), framework.Express, files, Limits{MaxFileBytes: 5000, MaxFileRoutes: 20})
	if err != nil {
		t.Fatal(err)
	}
	reasons := strings.Join(res.Reasons, "; ")
	if len(res.Endpoints) != 20 || !res.Truncated || !strings.Contains(reasons, `"zbig.js"`) || !strings.Contains(reasons, "beyond 20 per file") {
		t.Fatalf("%d endpoints, truncated %v: %q", len(res.Endpoints), res.Truncated, reasons)
	}
}

// TestExtractMemoryBomb is the upload that took previewd from 29 MiB to
// 3.4 GiB: one 19 MB FastAPI file of 200,000 routes. With the default
// limits it is not parsed, and a generation of files each just under the
// per-file limit stays within the nodes and routes bounds. Go's allocation
// total is an upper bound of the heap's growth; tree-sitter's own memory is
// measured by BenchmarkExtractWorstCase.
func TestExtractMemoryBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 20 MB of source")
	}
	for _, tc := range worstCases() {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res, err := Extract(context.Background(), framework.FastAPI, tc.files, DefaultLimits())
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Truncated {
				t.Errorf("not truncated")
			}
			allocated := float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)
			t.Logf("%d endpoints, %.1f MiB allocated, reasons %q", len(res.Endpoints), allocated, res.Reasons)
			if allocated > 100 {
				t.Errorf("%.1f MiB allocated, want under 100", allocated)
			}
		})
	}
}

// worstCase is an input that reaches the limits.
type worstCase struct {
	name  string
	files map[string][]byte
}

func worstCases() []worstCase {
	// 19 MB, 200,000 routes, in one file.
	bomb := routeFile(200_000)
	// Files just under MaxFileBytes, up to the 20 MiB upload limit: the
	// parse of each is paid, and the nodes kept reach MaxNodes.
	lim := DefaultLimits()
	chunk := routeFile(lim.MaxFileBytes / 100)
	for len(chunk) > lim.MaxFileBytes {
		chunk = routeFile(strings.Count(string(chunk), "@app") - 50)
	}
	many := map[string][]byte{}
	for i := 0; i*len(chunk) < 20<<20-len(chunk); i++ {
		many[fmt.Sprintf("app/m%02d.py", i)] = chunk
	}
	// Dense nesting: a file of the most syntax nodes per byte.
	dense := map[string][]byte{}
	for i := range 40 {
		dense[fmt.Sprintf("d%02d.py", i)] = []byte("x = [" + strings.Repeat("a,", lim.MaxFileBytes/2-10) + "]\n")
	}
	return []worstCase{
		{"one 19 MB file", map[string][]byte{"main.py": bomb}},
		{"files at the per-file limit", many},
		{"dense files", dense},
		{"included routers", includeChain(30)},
	}
}
