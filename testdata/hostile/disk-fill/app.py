"""A Flask app that tries to fill the disk. POST /write with a JSON body
{"dirs": [...], "mb": N, "seconds": S} writes 1 MiB blocks into a file in
each directory until the write fails, N MiB are written or S seconds pass,
and answers what happened in each. GET /mounts tries to create a file at
every mount point and lists the ones where that worked."""
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


@app.get("/mounts")
def mounts():
    writable = []
    with open("/proc/mounts") as f:
        points = sorted({line.split()[1] for line in f})
    for point in points:
        # A file in /run/preview gets the preview stopped: that is
        # write-rundir's case, not this probe's.
        if point == "/run/preview" or not os.path.isdir(point):
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
