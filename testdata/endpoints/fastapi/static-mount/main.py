import os

from fastapi import FastAPI, WebSocket
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

app = FastAPI()

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


@app.get("/", response_class=HTMLResponse)
async def index():
    """The chat page."""
    return open(os.path.join(STATIC_DIR, "index.html")).read()


@app.websocket("/ws")
async def chat(websocket: WebSocket):
    await websocket.accept()
    while True:
        data = await websocket.receive_text()
        await websocket.send_text(data)


@app.get("/api/rooms")
async def rooms():
    return ["general"]


@app.post("/api/rooms/{room}/messages")
async def post_message(room: str, text: str):
    return {}
