"""Checks sample: a page whose script fails, routes that work, and one
that raises for the endpoint checks to find."""
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from app.routers import items

app = FastAPI(title="previewd checks sample")
app.include_router(items.router)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>checks sample</title></head>
<body>
<h1>Items</h1>
<ul id="items"></ul>
<script>
fetch("/items/1").then(r => { if (!r.ok) console.error("loading items failed:", r.status); });
document.getElementById("total").textContent = "0";
</script>
</body></html>
"""


@app.get("/", response_class=HTMLResponse)
def index():
    return PAGE


@app.get("/health")
def health():
    print("health checked", flush=True)
    return {"ok": True}


@app.post("/items")
def create_item(item: dict):
    return item
