"""Keeps the order of what the app prints across stdout and stderr.

Loaded at every interpreter start by previewd-lazy.pth. The shim reads the
app's stdout and stderr from two pipes; when both fill between two of its
reads, it cannot know how the lines of one interleave with the other's, and
a traceback can land hundreds of lines after where it was printed. When the
shim passes a third pipe (PREVIEWD_STDIO="<fd>:<inode>"), sys.stdout and
sys.stderr write there instead, each write as frames of one byte for the
stream (1 or 2), two for the length and the bytes: one pipe keeps the order,
and a frame of at most PIPE_BUF bytes is written whole even when processes
(gunicorn's workers) share the pipe. What bypasses sys.stdout and sys.stderr
(os.write(1, ...), programs the app runs) still goes to fd 1 and 2.

The inode check keeps a process that did not inherit the pipe (subprocess
closes other fds by default) from writing frames into whatever file took
that fd number.
"""
import io
import os
import stat
import sys

FRAME_DATA = 4096 - 3  # PIPE_BUF, less the header


class _FramedStream(io.RawIOBase):
    def __init__(self, fd, stream):
        self._fd = fd
        self._stream = stream

    def writable(self):
        return True

    def fileno(self):
        # Code that asks for the fd (faulthandler, subprocess's stdout=sys.stdout)
        # gets the real stream, which the shim still reads.
        return self._stream

    def isatty(self):
        return False

    def write(self, b):
        data = memoryview(b).cast("B")
        for off in range(0, max(len(data), 1), FRAME_DATA):
            chunk = data[off:off + FRAME_DATA]
            if not chunk:
                break
            os.write(self._fd, bytes((self._stream, len(chunk) >> 8, len(chunk) & 0xFF)) + chunk)
        return len(data)


def _shared_pipe():
    spec = os.environ.get("PREVIEWD_STDIO", "")
    fd, _, ino = spec.partition(":")
    if not fd.isdigit() or not ino.isdigit():
        return None
    try:
        st = os.fstat(int(fd))
    except OSError:
        return None
    if not stat.S_ISFIFO(st.st_mode) or st.st_ino != int(ino):
        return None
    return int(fd)


def _install():
    fd = _shared_pipe()
    if fd is None:
        return
    for name, stream in (("stdout", 1), ("stderr", 2)):
        old = getattr(sys, name)
        if old is None:
            continue
        new = io.TextIOWrapper(_FramedStream(fd, stream), encoding=old.encoding, errors=old.errors,
                               write_through=True)
        try:
            old.flush()
        except Exception:
            pass
        setattr(sys, name, new)


_install()
