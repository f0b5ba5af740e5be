"""A FastAPI app (one uvicorn process) that runs fine until asked to crash
or to eat memory."""
import os
import sys

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index():
    return {"alive": True}


@app.post("/crash")
def crash():
    print("crashing on request", file=sys.stderr, flush=True)
    os._exit(3)


@app.post("/oom")
def oom():
    hog = []
    while True:
        block = bytearray(1 << 20)
        block[::4096] = b"x" * (len(block) // 4096)
        hog.append(block)
