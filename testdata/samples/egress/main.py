"""A FastAPI app that reports whether it can open a TCP connection."""
import socket

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index():
    return {"message": "hello from fastapi egress probe"}


@app.get("/probe")
def probe(host: str, port: int):
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            pass
    except OSError as exc:  # refused, unreachable, timed out, no DNS
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "error": ""}
