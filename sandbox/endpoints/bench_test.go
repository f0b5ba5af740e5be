package endpoints

import (
	"fmt"
	"strings"
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
		eps, err := Extract(framework.FastAPI, files)
		if err != nil {
			b.Fatal(err)
		}
		n = len(eps)
	}
	if n != 197*5 {
		b.Fatalf("%d endpoints, want %d", n, 197*5)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(float64(n), "endpoints/op")
}
