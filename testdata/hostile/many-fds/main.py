"""A FastAPI app that tries to hold 10,000 open files on POST
/attack?hold=S: it first tries to raise its open-file limit to 10,000, then
opens /dev/null until that fails, keeps the files open for S seconds and
closes them before answering how far it got."""
import errno
import os
import resource
import time

from fastapi import FastAPI

app = FastAPI()
WANT = 10_000


@app.get("/")
def index():
    return {"message": "hello from the fd hoarder"}


@app.post("/attack")
def attack(hold: float = 5):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raise_error = ""
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (WANT, WANT))
    except (OSError, ValueError) as exc:
        raise_error = str(exc)
    fds, err = [], None
    while len(fds) < WANT:
        try:
            fds.append(os.open("/dev/null", os.O_RDONLY))
        except OSError as exc:
            err = {"errno": exc.errno, "errno_name": errno.errorcode.get(exc.errno, ""), "error": str(exc)}
            break
    opened = len(fds)
    time.sleep(hold)
    for fd in fds:
        os.close(fd)
    return {"nofile_soft": soft, "nofile_hard": hard, "raise_error": raise_error,
            "opened": opened, "error": err}
