"""Preloader of a warm preview container (see cmd/previewshim).

Started before the app's files exist, it imports the frameworks and servers
previews use, reports ready on fd 3, then reads one JSON line on stdin:
{"argv": [...], "env": ["K=V", ...], "dir": "sub/dir"}. It then becomes the
app: the servers it knows (uvicorn, gunicorn) run in this process, so the
app's own imports are all that is left to do; any other command is exec'd,
exactly as a cold start would run it.
"""
import json
import os
import sys

# This file's directory must not shadow the app's modules.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

PRELOAD = [
    "fastapi", "fastapi.routing", "fastapi.responses", "fastapi.middleware.cors", "pydantic",
    "starlette.applications", "starlette.staticfiles",
    "uvicorn", "uvicorn.main", "uvicorn.config", "uvicorn.server", "uvicorn.lifespan.on",
    "uvicorn.loops.auto", "uvicorn.loops.uvloop", "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.websockets.auto", "uvicorn.protocols.websockets.websockets_impl",
    "flask", "flask_cors", "jinja2",
    "gunicorn.app.wsgiapp", "gunicorn.arbiter", "gunicorn.workers.gthread", "gunicorn.workers.sync",
    "django", "django.conf", "django.urls", "django.http", "django.core.handlers.wsgi", "django.db.models",
    "sqlite3", "json", "asyncio", "email.mime.text",
]


def preload():
    import importlib
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a module this image lacks only costs its warmth
            pass


def read_load_line():
    line = sys.stdin.buffer.readline()
    if not line:
        sys.exit(0)  # the container is being removed unused
    return json.loads(line)


def become(req):
    argv = req["argv"]
    for kv in req.get("env") or []:
        key, _, value = kv.partition("=")
        os.environ[key] = value
    os.chdir(os.path.join("/app", req.get("dir") or "."))
    # The app gets the stdin a cold start gives it: nothing more to read.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if argv[:3] == ["python3", "-m", "uvicorn"]:
        sys.argv = ["uvicorn"] + argv[3:]
        sys.path.insert(0, os.getcwd())  # as python3 -m does
        from uvicorn.main import main
        main()
    elif argv[:1] == ["gunicorn"]:
        sys.argv = argv
        sys.path.insert(0, os.getcwd())
        from gunicorn.app.wsgiapp import run
        sys.exit(run())
    else:
        os.execvp(argv[0], argv)


def main():
    preload()
    try:
        os.write(3, b"r")
        os.close(3)
    except OSError:
        pass
    become(read_load_line())


if __name__ == "__main__":
    main()
