package endpoints

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox/framework"
)

// fastAPI200 is a FastAPI package of 197 router modules, each with five
// CRUD routes, a model and docstrings, and the main module that includes
// them all, and two package markers: 200 files of the shape generators write.
func fastAPI200() map[string][]byte {
	files := map[string][]byte{"app/__init__.py": nil, "app/routers/__init__.py": nil}
	var main strings.Builder
	main.WriteString("from fastapi import FastAPI\n\nfrom app.routers import (\n")
	for i := range 197 {
		fmt.Fprintf(&main, "    r%03d,\n", i)
	}
	main.WriteString(")\n\napp = FastAPI()\n\n")
	for i := range 197 {
		name := fmt.Sprintf("r%03d", i)
		fmt.Fprintf(&main, "app.include_router(%s.router, prefix=\"/api\")\n", name)
		files["app/routers/"+name+".py"] = []byte(strings.ReplaceAll(routerModule, "THING", name))
	}
	files["app/main.py"] = []byte(main.String())
	return files
}

const routerModule = `from typing import List, Optional

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

router = APIRouter(prefix="/THING", tags=["THING"])


class THINGIn(BaseModel):
    name: str
    description: Optional[str] = None
    price: float = 0.0


class THINGOut(THINGIn):
    id: int


@router.get("/", response_model=List[THINGOut])
async def list_THING(skip: int = 0, limit: int = Query(100, le=500), q: Optional[str] = None):
    """List THING records.

    Paginated with skip and limit.
    """
    return []


@router.post("/", response_model=THINGOut, status_code=201)
async def create_THING(body: THINGIn):
    """Create a THING record."""
    return {"id": 1, **body.dict()}


@router.get("/{item_id}", response_model=THINGOut)
async def get_THING(item_id: int):
    if item_id < 0:
        raise HTTPException(status_code=404, detail="not found")
    return {"id": item_id, "name": "x"}


@router.put("/{item_id}", response_model=THINGOut)
async def update_THING(item_id: int, body: THINGIn):
    return {"id": item_id, **body.dict()}


@router.delete("/{item_id}", status_code=204)
async def delete_THING(item_id: int):
    return None
`

// BenchmarkExtract200Files measures one extraction of a 200-file
// generation; the goal is at most 50 ms.
func BenchmarkExtract200Files(b *testing.B) {
	files := fastAPI200()
	if len(files) != 200 {
		b.Fatalf("%d files, want 200", len(files))
	}
	var n int
	start := time.Now()
	for b.Loop() {
		n = len(extractBytes(b, framework.FastAPI, files))
	}
	if n != 197*5 {
		b.Fatalf("%d endpoints, want %d", n, 197*5)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(float64(n), "endpoints/op")
}

// BenchmarkExtractWorstCase extracts each of the inputs that reach the
// limits (see worstCases) and prints how much memory one extraction adds
// at its peak: Go's heap (sampled every millisecond) and the process's
// resident set, which also holds tree-sitter's C allocations (the kernel's
// high-water mark, reset before each extraction). The goal is under 100
// MiB for the worst case; before the limits, the 19 MB file took 3.4 GiB.
func BenchmarkExtractWorstCase(b *testing.B) {
	for _, tc := range worstCases() {
		b.Run(strings.ReplaceAll(tc.name, " ", "-"), func(b *testing.B) {
			var heapPeak, rssPeak float64
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				debug.FreeOSMemory()
				heap0 := heapBytes()
				rss0, resetOK := resetPeakRSS()
				stop := sampleHeap()
				b.StartTimer()
				start := time.Now()
				res, err := Extract(context.Background(), framework.FastAPI, tc.files, DefaultLimits())
				elapsed += time.Since(start)
				b.StopTimer()
				heap := stop()
				if err != nil {
					b.Fatal(err)
				}
				if !res.Truncated {
					b.Fatal("not truncated")
				}
				heapPeak = max(heapPeak, float64(heap-heap0)/(1<<20))
				if hwm := peakRSS(); resetOK && hwm > rss0 {
					rssPeak = max(rssPeak, float64(hwm-rss0)/(1<<20))
				}
				b.StartTimer()
			}
			b.ReportMetric(heapPeak, "extra-heap-MiB")
			b.ReportMetric(rssPeak, "extra-rss-MiB")
			b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/op")
		})
	}
}

// heapBytes is the memory of live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap samples heapBytes every millisecond until the function it
// returns is called, which returns the highest sample.
func sampleHeap() func() uint64 {
	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ends when done is closed
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heapBytes())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(peak, heapBytes())
	}
}

// resetPeakRSS resets the kernel's resident-set high-water mark to the
// current resident set and returns that, in bytes.
func resetPeakRSS() (uint64, bool) {
	err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return procStatus("VmRSS:"), err == nil
}

// peakRSS is the resident-set high-water mark, in bytes.
func peakRSS() uint64 { return procStatus("VmHWM:") }

func procStatus(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
