"""A FastAPI app that takes every inotify instance it can on POST
/attack?hold=S and holds them for S seconds. The kernel's limit on them is
per user, not per container, so this tests whether previews share one.
GET /probe tries to create a single inotify instance and says how it went."""
import ctypes
import errno
import os
import threading

from fastapi import FastAPI

app = FastAPI()
libc = ctypes.CDLL(None, use_errno=True)


def inotify():
    fd = libc.inotify_init1(os.O_CLOEXEC)
    return fd, ctypes.get_errno() if fd < 0 else 0


@app.get("/")
def index():
    return {"message": "hello from the inotify hog"}


@app.post("/attack")
def attack(hold: float = 5):
    fds = []
    while True:
        fd, err = inotify()
        if fd < 0:
            break
        fds.append(fd)

    def release():
        for f in fds:
            os.close(f)

    threading.Timer(hold, release).start()
    return {"held": len(fds), "errno_name": errno.errorcode.get(err, "")}


@app.get("/probe")
def probe():
    fd, err = inotify()
    if fd < 0:
        return {"ok": False, "error": os.strerror(err)}
    os.close(fd)
    return {"ok": True, "error": ""}
