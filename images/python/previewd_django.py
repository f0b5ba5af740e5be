"""gunicorn configuration of a Django preview that migrates before serving.

previewd runs `gunicorn -c python:previewd_django ...` with
PREVIEWD_DJANGO_MANAGE set to the app's manage.py. Before gunicorn binds,
on_starting runs `manage.py migrate --noinput` in gunicorn's own process,
exactly as the command line would (the app's manage.py, its sys.argv and
working directory), instead of in an interpreter of its own: Django, the
settings and the app's models are then imported once, and in a warm
container (see warm.py) they are the preloaded ones. A migrate that fails
ends the start with its exit status, as `migrate && gunicorn` did.

After a migrate, the app's SQLite database files are copied, as migrate
left them and before anything is served, to SNAPSHOT; previewd fetches
them through the shim (GET /migrated) and, on the next launch of the same
files on the same image, writes them into /app itself and leaves
PREVIEWD_DJANGO_MANAGE unset, so that nothing is migrated again.
"""
import os
import runpy
import shutil
import sys

APP_DIR = "/app"
SNAPSHOT = "/tmp/.previewd-migrated"  # cmd/previewshim/migrated.go


def on_starting(server):
    manage = os.environ.pop("PREVIEWD_DJANGO_MANAGE", "")
    if manage:
        migrate(manage)
        try:
            snapshot()
        except Exception as e:  # the app runs as well without it
            print("previewd: migrated database not kept: %s" % e, file=sys.stderr)


def migrate(manage):
    cwd, argv, path = os.getcwd(), sys.argv, list(sys.path)
    here = os.path.dirname(os.path.abspath(manage))
    os.chdir(here)
    sys.argv = [manage, "migrate", "--noinput"]
    sys.path.insert(0, here)  # as `python3 manage.py` does
    try:
        runpy.run_path(manage, run_name="__main__")
    except SystemExit as e:
        if e.code not in (None, 0):
            raise
    finally:
        os.chdir(cwd)
        sys.argv = argv
        sys.path[:] = path
    sys.stdout.flush()
    # The worker opens its own connections (in a forked worker, one shared
    # with this process would be unsafe).
    try:
        from django.db import connections
        connections.close_all()
    except Exception:
        pass


def sqlite_files():
    """The app's database files under APP_DIR, or None when any database
    is not a SQLite file there (its state would not be in the copy)."""
    from django.db import connections
    files = []
    for alias in connections:
        s = connections[alias].settings_dict
        if not s.get("ENGINE", "").endswith("sqlite3"):
            return None
        name = os.path.realpath(os.path.join(os.getcwd(), str(s.get("NAME") or "")))
        if os.path.commonpath([name, APP_DIR]) != APP_DIR or not os.path.isfile(name):
            return None  # in memory, a URI, or outside the app
        files.append(os.path.relpath(name, APP_DIR))
    return sorted(set(files))


def snapshot():
    files = sqlite_files()
    if not files:
        return
    tmp = SNAPSHOT + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for rel in files:
        dst = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(APP_DIR, rel), dst)
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    os.rename(tmp, SNAPSHOT)
