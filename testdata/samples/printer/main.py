"""A FastAPI app that prints on request, for the log tests: numbered lines,
stdout and stderr, an over-long line, and a partial last line at shutdown."""
import logging
import sys
import threading
import time

from fastapi import FastAPI

# Access log lines would mix into the numbered output.
logging.getLogger("uvicorn.access").disabled = True


app = FastAPI()


@app.on_event("shutdown")
def last_words():
    # No newline: the runner must still store this when the container stops.
    sys.stdout.write("partial-last-line")
    sys.stdout.flush()


@app.get("/")
def index():
    return {"ok": True}


def _numbered(n, pause_every):
    for i in range(n):
        sys.stdout.write(f"n={i}\n")
        sys.stdout.flush()
        if pause_every and i % pause_every == pause_every - 1:
            time.sleep(0.01)


@app.post("/print")
def print_numbered(n: int = 10000, pause_every: int = 100):
    threading.Thread(target=_numbered, args=(n, pause_every), daemon=True).start()
    return {"printing": n}


@app.post("/mixed")
def mixed():
    for i in range(5):
        print(f"out-{i}", flush=True)
        print(f"err-{i}", file=sys.stderr, flush=True)
    print("L" * (40 << 10), flush=True)
    print("mixed-done", flush=True)
    return {"ok": True}


@app.post("/mark")
def mark(tag: str):
    print(f"mark {tag}", flush=True)
    return {"ok": True}
