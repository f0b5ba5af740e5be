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


@app.post("/oom-child")
def oom_child():
    """A child process eats memory until the kernel kills it; the app lives on."""
    import subprocess
    eat = "hog = []\nwhile True:\n    b = bytearray(1 << 20)\n    b[::4096] = b'x' * 256\n    hog.append(b)\n"
    done = subprocess.run([sys.executable, "-c", eat])
    return {"child_exit": done.returncode}
