"""A FastAPI app that tries to reach what lies outside its container. POST
/attack takes a list of targets, {"tcp": "host:port"} or {"unix": path}
(a path starting with @ is an abstract socket), tries to connect to each and
answers, for each, whether it worked and the error."""
import socket

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index():
    return {"message": "hello from the prober"}


def connect(target):
    try:
        if "unix" in target:
            path = target["unix"]
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect("\0" + path[1:] if path.startswith("@") else path)
        else:
            host, port = target["tcp"].rsplit(":", 1)
            with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
                pass
    except OSError as exc:  # refused, unreachable, timed out, no such file
        return {**target, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {**target, "ok": True, "error": ""}


@app.post("/attack")
def attack(targets: list[dict]):
    return [connect(t) for t in targets]
