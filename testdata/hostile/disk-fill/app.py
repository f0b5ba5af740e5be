"""A Flask app that tries to fill the disk. POST /write with a JSON body
{"dirs": [...], "mb": N, "seconds": S} writes 1 MiB blocks into a file in
each directory until the write fails, N MiB are written or S seconds pass,
and answers what happened in each. GET /mounts tries to create a file at
every mount point and lists the ones where that worked. POST /sneak with
{"dir": D, "mb": N} tries the ways of putting data under D that leave no
name behind or claim space without writing it: an O_TMPFILE file, a
fallocated file, a 10 GiB sparse file, hard links, a directory, a fifo."""
import errno
import os
import time

from flask import Flask, jsonify, request

app = Flask(__name__)
BLOCK = b"\xa5" * (1 << 20)


@app.get("/")
def index():
    return {"message": "hello from the disk filler"}


def fill(directory, limit_mb, deadline):
    path = os.path.join(directory, f"fill-{os.getpid()}-{time.monotonic_ns()}.bin")
    written = 0
    try:
        with open(path, "wb", buffering=0) as f:
            while written < limit_mb << 20 and time.monotonic() < deadline:
                written += f.write(BLOCK)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return {"dir": directory, "written_bytes": written, "errno": exc.errno,
                "errno_name": errno.errorcode.get(exc.errno, ""), "error": str(exc)}
    return {"dir": directory, "written_bytes": written, "errno": 0, "errno_name": "", "error": ""}


@app.post("/write")
def write():
    body = request.get_json()
    deadline = time.monotonic() + float(body.get("seconds", 5))
    return jsonify([fill(d, int(body.get("mb", 1024)), deadline) for d in body["dirs"]])


def attempt(name, f):
    """Runs f, which returns the bytes it put on disk, and reports it."""
    try:
        n = f()
    except OSError as exc:
        return {"way": name, "bytes": 0, "errno": exc.errno,
                "errno_name": errno.errorcode.get(exc.errno, ""), "error": str(exc)}
    return {"way": name, "bytes": n, "errno": 0, "errno_name": "", "error": ""}


def tmpfile(directory, limit_mb):
    fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    written = 0
    try:
        while written < limit_mb << 20:
            written += os.write(fd, BLOCK)
        os.fsync(fd)
        # Held open, the nameless file would keep its blocks; it is closed
        # here, but a real attacker keeps it and goes on.
    finally:
        os.close(fd)
    return written


def fallocated(directory, limit_mb):
    fd = os.open(os.path.join(directory, "fallocated.bin"), os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, limit_mb << 20)
    finally:
        os.close(fd)
    return limit_mb << 20


def sparse(directory, _):
    with open(os.path.join(directory, "sparse.bin"), "wb") as f:
        f.truncate(10 << 30)
        f.seek((10 << 30) - len(BLOCK))
        f.write(BLOCK)
    return len(BLOCK)


def hardlink(source):
    def link(directory, _):
        os.link(source, os.path.join(directory, "linked-" + os.path.basename(source)))
        return 0  # a new name, not new data
    return link


def make_tmp_file(limit_mb):
    path = os.path.join("/tmp", f"link-source-{os.getpid()}.bin")
    with open(path, "wb") as f:
        f.write(BLOCK * min(limit_mb, 8))
    return path


def mkdir(directory, _):
    os.mkdir(os.path.join(directory, "subdir"))
    return 0


def fifo(directory, _):
    os.mkfifo(os.path.join(directory, "fifo"))
    return 0


@app.post("/sneak")
def sneak():
    body = request.get_json()
    directory, mb = body["dir"], int(body.get("mb", 1024))
    ways = [("O_TMPFILE", tmpfile), ("fallocate", fallocated), ("sparse 10 GiB", sparse),
            ("hard link from /app", hardlink(os.path.abspath(__file__))),
            ("hard link from /tmp", hardlink(make_tmp_file(mb))),
            ("hard link of a socket", hardlink(os.path.join(directory, "app.sock"))),
            ("mkdir", mkdir), ("mkfifo", fifo)]
    return jsonify([attempt(name, lambda f=f: f(directory, mb)) for name, f in ways])


@app.get("/mounts")
def mounts():
    writable = []
    with open("/proc/mounts") as f:
        points = sorted({line.split()[1] for line in f})
    for point in points:
        if not os.path.isdir(point):
            continue
        path = os.path.join(point, f".probe-{os.getpid()}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            continue
        os.close(fd)
        os.unlink(path)
        writable.append(point)
    return jsonify({"mounts": points, "writable": writable})
