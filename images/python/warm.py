"""Preloader of a warm preview container (see cmd/previewshim).

Started before the app's files exist, it imports the frameworks and servers
previews use, reports ready on fd 3, then reads one JSON line on stdin:
{"argv": [...], "env": ["K=V", ...], "dir": "sub/dir"}. It then becomes the
app: the servers it knows (uvicorn, gunicorn) run in this process, so the
app's own imports are all that is left to do; any other command is exec'd,
exactly as a cold start would run it.

Before it reports ready it answers a few requests with throwaway FastAPI and
Flask apps, called directly rather than over a socket: the first request's
lazy imports and caches are then done before the app's own.

A gunicorn with one worker runs that worker in this process too, under no
arbiter: forking a process this size costs 60-150 ms of copy-on-write faults,
most of a warm launch, and one worker needs no master. What it gives up is
the arbiter's supervision: a worker that dies or exceeds gunicorn's timeout
is not replaced, and the preview ends (or hangs) as its app does.
"""
import json
import os
import sys

# This file's directory must not shadow the app's modules.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

GUNICORN = ["gunicorn.app.wsgiapp", "gunicorn.arbiter", "gunicorn.workers.gthread", "gunicorn.workers.sync"]

# What each framework's apps import first, by framework; the arguments of
# this script (fastapi, flask, django) choose, none means all of them. A
# standby kept for an app's next version preloads only its framework.
PRELOAD = {
    "fastapi": [
        "fastapi", "fastapi.routing", "fastapi.responses", "fastapi.middleware.cors", "pydantic",
        "starlette.applications", "starlette.staticfiles",
        "uvicorn", "uvicorn.main", "uvicorn.config", "uvicorn.server", "uvicorn.lifespan.on",
        "uvicorn.loops.auto", "uvicorn.loops.uvloop", "uvicorn.protocols.http.auto",
        "uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl",
        "uvicorn.protocols.websockets.auto", "uvicorn.protocols.websockets.websockets_impl",
    ],
    "flask": ["flask", "flask_cors", "jinja2"] + GUNICORN,
    "django": ["django", "django.conf", "django.urls", "django.http", "django.core.handlers.wsgi",
               "django.db.models"] + GUNICORN,
}
COMMON = ["sqlite3", "json", "asyncio", "email.mime.text"]


def chosen():
    names = [a for a in sys.argv[1:] if a in PRELOAD]
    return names or list(PRELOAD)


def preload():
    import importlib
    for name in [m for fw in chosen() for m in PRELOAD[fw]] + COMMON:
        try:
            importlib.import_module(name)
        except Exception:  # a module this image lacks only costs its warmth
            pass


def warm_up():
    for fw, serve in (("fastapi", warm_fastapi), ("flask", warm_flask)):
        if fw not in chosen():
            continue
        try:
            serve()
        except Exception:  # a failed warm-up only costs its warmth
            pass


def warm_fastapi():
    import asyncio
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Item(BaseModel):
        id: int
        name: str = ""

    app = FastAPI()

    @app.get("/items/{item_id}", response_model=Item)
    def read_item(item_id: int):
        return Item(id=item_id)

    @app.post("/items", status_code=201)
    def create_item(item: Item):
        return item

    async def ask(method, path, body=b""):
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            pass

        await app({
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "root_path": "", "query_string": b"", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")],
        }, receive, send)

    async def requests():
        await ask("GET", "/items/1")
        await ask("POST", "/items", b'{"id": 2}')
        await ask("GET", "/missing")
        await ask("GET", "/openapi.json")

    asyncio.run(requests())


def warm_flask():
    from flask import Flask, jsonify, request

    app = Flask("previewd_warm_up")

    @app.route("/items", methods=["POST"])
    def create_item():
        return jsonify(request.get_json()), 201

    client = app.test_client()
    client.post("/items", json={"id": 1})
    client.get("/missing")


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
        run_gunicorn()
    else:
        os.execvp(argv[0], argv)


def run_gunicorn():
    """Run gunicorn as its command line asks, in this process when it can."""
    from gunicorn.app.wsgiapp import WSGIApplication
    app = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]")
    if not in_process(app.cfg):
        app.run()
        return
    from gunicorn.arbiter import Arbiter
    from gunicorn.errors import AppImportError, HaltServer
    # The arbiter logs, binds and runs the hooks as gunicorn would; its
    # signal handlers are replaced by the worker's own.
    arbiter = Arbiter(app)
    try:
        arbiter.start()
    except HaltServer as e:
        arbiter.halt(reason=e.reason, exit_status=e.exit_status)
    # The worker's parent is this process's: it stops if the shim goes.
    worker = arbiter.worker_class(1, os.getppid(), arbiter.LISTENERS, app,
                                  arbiter.timeout / 2.0, app.cfg, arbiter.log)
    app.cfg.pre_fork(arbiter, worker)
    worker.pid = os.getpid()
    status = 0
    try:
        arbiter.log.info("Booting worker with pid: %s", worker.pid)
        app.cfg.post_fork(arbiter, worker)
        worker.init_process()
    except SystemExit as e:
        status = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
    except AppImportError as e:
        print("%s" % e, file=sys.stderr, flush=True)
        status = arbiter.APP_LOAD_ERROR
    except Exception:
        arbiter.log.exception("Exception in worker process")
        status = arbiter.WORKER_BOOT_ERROR if not worker.booted else 1
    finally:
        arbiter.log.info("Worker exiting (pid: %s)", worker.pid)
        worker.tmp.close()
        app.cfg.worker_exit(arbiter, worker)
        # What the worker closed, the arbiter must not close again.
        arbiter.LISTENERS = [s for s in arbiter.LISTENERS if s.sock is not None]
    if status == arbiter.APP_LOAD_ERROR:
        arbiter.halt(reason="App failed to load.", exit_status=status)
    elif status == arbiter.WORKER_BOOT_ERROR:
        arbiter.halt(reason="Worker failed to boot.", exit_status=status)
    arbiter.halt(exit_status=status)


def in_process(cfg):
    """Whether gunicorn with cfg can run its worker in this process: one
    sync or threaded worker that never needs replacing, and nothing a
    master process does for it beyond starting it."""
    return (cfg.workers == 1 and cfg.worker_class_str in ("sync", "gthread", "threads")
            and not cfg.reload and not cfg.daemon and not cfg.max_requests
            and not cfg.print_config and not cfg.check_config and not cfg.spew)


def main():
    preload()
    warm_up()
    try:
        os.write(3, b"r")
        os.close(3)
    except OSError:
        pass
    become(read_load_line())


if __name__ == "__main__":
    main()
