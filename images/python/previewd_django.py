"""gunicorn configuration of a Django preview that migrates before serving.

previewd runs `gunicorn -c python:previewd_django ...` with
PREVIEWD_DJANGO_MANAGE set to the app's manage.py. Before gunicorn binds,
on_starting runs `manage.py migrate --noinput` in gunicorn's own process,
exactly as the command line would (the app's manage.py, its sys.argv and
working directory), instead of in an interpreter of its own: Django, the
settings and the app's models are then imported once, and in a warm
container (see warm.py) they are the preloaded ones. A migrate that fails
ends the start with its exit status, as `migrate && gunicorn` did.
"""
import os
import runpy
import sys


def on_starting(server):
    manage = os.environ.pop("PREVIEWD_DJANGO_MANAGE", "")
    if manage:
        migrate(manage)


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
