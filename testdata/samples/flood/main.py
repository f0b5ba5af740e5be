"""A FastAPI app that floods its log, for the log flood test: from startup, a
thread prints long numbered lines as fast as it can for 20 seconds.
GET /count tells how many it printed and whether it is done."""
import os
import threading
import time

from fastapi import FastAPI

SECONDS = 20
PAD = "x" * 180

app = FastAPI()
state = {"printed": 0, "done": False}


def _flood():
    n = 0
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        chunk = "".join(f"flood n={i} {PAD}\n" for i in range(n, n + 200))
        view = memoryview(chunk.encode())
        while view:
            view = view[os.write(1, view):]
        n += 200
        state["printed"] = n
    state["done"] = True


@app.on_event("startup")
def start_flood():
    threading.Thread(target=_flood, daemon=True).start()


@app.get("/")
def index():
    return {"ok": True}


@app.get("/count")
def count():
    return state
