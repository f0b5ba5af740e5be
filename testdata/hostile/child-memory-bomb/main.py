"""A FastAPI app whose POST /attack starts a child process that allocates
memory until the kernel kills it; the app itself stays small and keeps
answering. GET /child tells how the child ended."""
import subprocess
import sys

from fastapi import FastAPI

HOG = """
hog = []
while True:
    block = bytearray(1 << 20)
    block[::4096] = b"x" * (len(block) // 4096)
    hog.append(block)
"""

app = FastAPI()
state = {"child": None}


@app.get("/")
def index():
    return {"message": "hello from the child memory bomb"}


@app.post("/attack")
def attack():
    state["child"] = subprocess.Popen([sys.executable, "-c", HOG])
    return {"pid": state["child"].pid}


@app.get("/child")
def child():
    c = state["child"]
    if c is None:
        return {"started": False, "returncode": None}
    # poll() reaps the child once it is dead; a negative code is a signal.
    return {"started": True, "pid": c.pid, "returncode": c.poll()}
