package endpoints

import (
	"reflect"
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// The app lives in backend/ (run with cd backend && uvicorn app.main:app),
// so absolute imports resolve below the generation root.
func TestFastAPINestedIncludes(t *testing.T) {
	files := map[string]string{
		"backend/app/__init__.py": "",
		"backend/app/main.py": `
from fastapi import FastAPI
import app.api.v1
from app.core.config import settings

application = FastAPI()
application.include_router(app.api.v1.api, prefix=settings.API_PREFIX)
`,
		"backend/app/core/config.py": `
class Settings:
    API_PREFIX: str = "/api"

settings = Settings()
`,
		"backend/app/api/__init__.py": "",
		"backend/app/api/v1/__init__.py": `
from fastapi import APIRouter
from . import items, users

api = APIRouter(prefix="/v1", tags=["v1"])
api.include_router(items.router, prefix="/items", tags=["items"])
api.include_router(users.router)
`,
		"backend/app/api/v1/items.py": `
from fastapi import APIRouter
router = APIRouter(prefix="/shop")

@router.get("/")
async def list_items():
    pass

@router.delete("/{item_id}")
async def delete_item(item_id: int):
    pass
`,
		"backend/app/api/v1/users.py": `
from fastapi import APIRouter
router = APIRouter(prefix="/users", tags=["users"])

@router.api_route("/{user_id:int}", methods=["get", "put"])
def user(user_id: int):
    pass
`,
		"backend/app/orphan.py": `
from fastapi import APIRouter
router = APIRouter()

@router.get("/never-included")
def orphan():
    pass
`,
	}
	eps := extract(t, framework.FastAPI, files)
	wantRows(t, eps,
		"GET /api/v1/items/shop/ backend/app/api/v1/items.py:4",
		"DELETE /api/v1/items/shop/{item_id} backend/app/api/v1/items.py:8",
		"GET /api/v1/users/{user_id} backend/app/api/v1/users.py:4",
		"PUT /api/v1/users/{user_id} backend/app/api/v1/users.py:4",
	)
	if got := endpoint(t, eps, "GET", "/api/v1/items/shop/").Tags; !reflect.DeepEqual(got, []string{"v1", "items"}) {
		t.Errorf("tags = %q, want include tags outermost first", got)
	}
	wantParams(t, endpoint(t, eps, "PUT", "/api/v1/users/{user_id}"),
		Param{Name: "user_id", In: "path", Type: "integer", Required: true})
}

func TestFastAPIParamsAndDocs(t *testing.T) {
	eps := extract(t, framework.FastAPI, map[string]string{
		"schemas/__init__.py": "",
		"schemas/base.py": `
from pydantic import BaseModel
class Base(BaseModel):
    pass
`,
		"schemas/item.py": `
from enum import Enum
from .base import Base
class Item(Base):
    name: str
class Color(str, Enum):
    red = "red"
`,
		"main.py": `
from typing import List, Optional
from fastapi import BackgroundTasks, Body, Depends, FastAPI, Query, Request
from schemas.item import Color, Item

app = FastAPI()

@app.put("/items/{item_id}", summary="Replace", tags=["items"])
async def replace(
    item_id: int,
    item: Item,
    request: Request,
    tasks: BackgroundTasks,
    color: Color = Color.red,
    q: Optional[str] = None,
    tags: List[str] = Query([]),
    size: float = Query(...),
    note: str = Body(...),
    user=Depends(lambda: None),
    flag=False,
):
    """Ignored summary.

    Replaces the item.
    It keeps its id.
    """

@app.post("/bulk")
def bulk(ids: List[int], meta: dict):
    pass
`,
	})
	e := endpoint(t, eps, "PUT", "/items/{item_id}")
	if e.Summary != "Replace" || e.Description != "Replaces the item.\nIt keeps its id." {
		t.Errorf("summary, description = %q, %q", e.Summary, e.Description)
	}
	if e.File != "main.py" || e.Line != 7 || !reflect.DeepEqual(e.Tags, []string{"items"}) {
		t.Errorf("file, line, tags = %s, %d, %q", e.File, e.Line, e.Tags)
	}
	wantParams(t, e,
		Param{Name: "item_id", In: "path", Type: "integer", Required: true},
		Param{Name: "item", In: "body", Type: "Item", Required: true},
		Param{Name: "color", In: "query", Type: "string"},
		Param{Name: "q", In: "query", Type: "string"},
		Param{Name: "tags", In: "query", Type: "array"},
		Param{Name: "size", In: "query", Type: "number", Required: true},
		Param{Name: "note", In: "body", Type: "string", Required: true},
		Param{Name: "flag", In: "query", Type: "boolean"},
	)
	wantParams(t, endpoint(t, eps, "POST", "/bulk"),
		Param{Name: "ids", In: "body", Type: "array", Required: true},
		Param{Name: "meta", In: "body", Type: "object", Required: true},
	)
}

func TestFastAPIFactoryAndRegisterHelper(t *testing.T) {
	eps := extract(t, framework.FastAPI, map[string]string{
		"main.py": `
from app import create_app
app = create_app()

@app.get("/late")
def late():
    pass
`,
		"app/__init__.py": `
from fastapi import FastAPI
from .routes import register

def create_app():
    application = FastAPI()
    register(application)
    return application
`,
		"app/routes.py": `
from fastapi import APIRouter
router = APIRouter()

@router.get("/x")
def x():
    pass

def register(app):
    app.include_router(router, prefix="/r")

    @app.head("/ping")
    def ping():
        pass
`,
	})
	wantRows(t, eps, "GET /late main.py:4", "HEAD /ping app/routes.py:11", "GET /r/x app/routes.py:4")
}

func TestFastAPIIncludeLoops(t *testing.T) {
	eps := extract(t, framework.FastAPI, map[string]string{
		"main.py": `
import importlib
from fastapi import FastAPI
from routers import a, b

app = FastAPI()
for router in (a.router, b.router):
    app.include_router(router, prefix="/api")
for name in ["c"]:
    app.include_router(importlib.import_module(name).router)
`,
		"routers/__init__.py": "",
		"routers/a.py": `
from fastapi import APIRouter
router = APIRouter()

@router.get("/a")
def a():
    pass
`,
		"routers/b.py": `
from fastapi import APIRouter
router = APIRouter()

@router.post("/b")
def b():
    pass
`,
	})
	// The importlib loop is not followed: that is what MergeOpenAPI is for.
	wantRows(t, eps, "GET /api/a routers/a.py:4", "POST /api/b routers/b.py:4")
}
