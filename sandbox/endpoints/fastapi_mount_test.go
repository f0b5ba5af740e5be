package endpoints

import (
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// A sub-application or router mounted with app.mount() is served behind
// the mount path; a static files mount has no routes.
func TestFastAPIMountedSubApps(t *testing.T) {
	eps := extract(t, framework.FastAPI, map[string]string{
		"main.py": `
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from admin import admin_router

app = FastAPI()
subapi = FastAPI()


@app.get("/app")
def read_main():
    return {}


@subapi.get("/sub")
def read_sub():
    return {}


app.mount("/subapi", subapi)
app.mount("/admin/", admin_router)
app.mount("/static", StaticFiles(directory="static"), name="static")
`,
		"admin.py": `
from fastapi import APIRouter

admin_router = APIRouter()


@admin_router.post("/users/{user_id}")
def ban(user_id: int):
    pass
`,
	})
	wantRows(t, eps,
		"POST /admin/users/{user_id} admin.py:6",
		"GET /app main.py:9",
		"GET /subapi/sub main.py:14",
	)
}

// With no app in the project, a router is listed as not mounted rather
// than as routes at the root.
func TestFastAPILooseRouterNotMounted(t *testing.T) {
	eps := extract(t, framework.FastAPI, map[string]string{
		"items.py": `
from fastapi import APIRouter

router = APIRouter()


@router.get("/items")
def items():
    return []
`,
	})
	e := endpoint(t, eps, "GET", "/items")
	if e.Mounted == nil || *e.Mounted {
		t.Errorf("GET /items mounted = %v, want false", e.Mounted)
	}
}
