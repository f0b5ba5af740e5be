"""A FastAPI app that tries to create a million small files in /tmp on
POST /attack?seconds=S: 16-byte files until the first error, then empty
ones (inodes only) until the next error, a million files or S seconds. It
answers how many of each it made and the errors that stopped it."""
import errno
import os
import time

from fastapi import FastAPI

app = FastAPI()
MILLION = 1_000_000


@app.get("/")
def index():
    return {"message": "hello from the file spammer"}


def make(root, limit, content, deadline):
    made, err = 0, None
    n = 0
    while n < limit and time.monotonic() < deadline:
        d = os.path.join(root, str(n // 10_000))
        try:
            if n % 10_000 == 0:
                os.makedirs(d, exist_ok=True)
            fd = os.open(os.path.join(d, str(n)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                if content:
                    os.write(fd, content)
            finally:
                os.close(fd)
        except OSError as exc:
            err = {"errno": exc.errno, "errno_name": errno.errorcode.get(exc.errno, ""), "error": str(exc)}
            break
        made += 1
        n += 1
    return made, err


@app.post("/attack")
def attack(seconds: float = 5):
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    small, small_err = make("/tmp/small", MILLION, b"0123456789abcdef", deadline)
    empty, empty_err = make("/tmp/empty", MILLION - small, b"", deadline)
    st = os.statvfs("/tmp")
    return {
        "small_files": small, "small_error": small_err,
        "empty_files": empty, "empty_error": empty_err,
        "seconds": round(time.monotonic() - started, 2),
        "tmp_free_bytes": st.f_bavail * st.f_frsize, "tmp_free_inodes": st.f_favail,
    }
