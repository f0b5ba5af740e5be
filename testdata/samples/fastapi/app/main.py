"""FastAPI sample: the root answers here, items come from a router module."""
from fastapi import FastAPI

from app.routers import items

app = FastAPI(title="previewd fastapi sample")
app.include_router(items.router)


@app.get("/")
def index():
    return {"message": "hello from fastapi"}
