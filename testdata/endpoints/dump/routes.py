"""Print the route table of each app in a corpus directory, as the framework
itself sees it: the ground truth for sandbox/endpoints' accuracy test.

    python3 routes.py fastapi|flask|django CORPUS_DIR
    python3 routes.py --openapi APP_DIR     (a FastAPI app's /openapi.json)

prints one JSON object {app_name: {"routes": [...], "error": "..."}}. Each
app is imported in a child process of its own, so that apps whose modules
share a name (main, app, config) do not meet in sys.modules.

A route is {"method", "path"} plus, for Flask, "auto_options": whether Flask
added OPTIONS itself. Paths use {name} for parameters, built the same way
sandbox/endpoints builds them, from the framework's own route strings.
"""

import ast
import importlib
import io
import json
import os
import re
import subprocess
import sys

HTTP = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
CANDIDATE_MODULES = ["main", "app", "app.main", "server", "api", "application", "run", "wsgi", "asgi",
                     "src.main", "src.app", "app.app"]
APP_NAMES = ["app", "application", "api", "server"]
FACTORIES = ["create_app", "make_app", "get_app", "build_app"]


def main():
    framework, corpus = sys.argv[1], sys.argv[2]
    if framework == "--one":
        one(sys.argv[2], sys.argv[3])
        return
    if framework == "--openapi":
        from fastapi import FastAPI
        print(json.dumps(find_app(sys.argv[2], FastAPI).openapi(), indent=1, sort_keys=True))
        return
    out = {}
    for name in sorted(os.listdir(corpus)):
        app_dir = os.path.join(corpus, name)
        if not os.path.isdir(app_dir):
            continue
        proc = subprocess.run([sys.executable, __file__, "--one", framework, app_dir],
                              capture_output=True, text=True, timeout=120)
        try:
            out[name] = json.loads(proc.stdout)
        except ValueError:
            out[name] = {"routes": [], "error": "dumper failed: " + proc.stderr[-2000:]}
    print(json.dumps(out, indent=1, sort_keys=True))


def one(framework, app_dir):
    # Whatever the app prints goes to stderr; stdout carries only the result.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        routes = {"fastapi": fastapi_routes, "flask": flask_routes, "django": django_routes}[framework](app_dir)
        result = {"routes": routes, "error": ""}
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        import traceback
        result = {"routes": [], "error": "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())}
    real_stdout.write(json.dumps(result))


# --- FastAPI and Flask: find the app the way uvicorn/flask run are told to.

def find_app(app_dir, cls):
    """Imports the first candidate module that holds an instance of cls (or a
    factory returning one), from the app directory or a single backend/src
    style subdirectory, as `cd backend && uvicorn main:app` would."""
    roots = [app_dir] + [os.path.join(app_dir, d) for d in sorted(os.listdir(app_dir))
                         if d in ("backend", "server", "api")]
    for root in roots:
        for mod in CANDIDATE_MODULES:
            rel = mod.replace(".", "/")
            if not (os.path.isfile(os.path.join(root, rel + ".py"))
                    or os.path.isfile(os.path.join(root, rel, "__init__.py"))):
                continue
            os.chdir(root)
            sys.path.insert(0, root)
            module = importlib.import_module(mod)
            app = app_in(module, cls)
            if app is not None:
                return app
            sys.path.remove(root)
    # No candidate module: the module or package `flask --app NAME` or
    # `uvicorn NAME:app` would be told, any top-level one (flaskr,
    # autoapp.py), in name order.
    for root in roots:
        os.chdir(root)
        sys.path.insert(0, root)
        for entry in sorted(os.listdir(root)):
            mod = entry[:-3] if entry.endswith(".py") else entry
            if mod in CANDIDATE_MODULES or not mod.isidentifier() or not (
                    entry.endswith(".py") or os.path.isfile(os.path.join(root, entry, "__init__.py"))):
                continue
            try:
                module = importlib.import_module(mod)
            except Exception:  # noqa: BLE001 - not the app's entry module
                continue
            app = app_in(module, cls)
            if app is not None:
                return app
        sys.path.remove(root)
    raise RuntimeError("no %s app found in %s" % (cls.__name__, app_dir))


def app_in(module, cls):
    for name in APP_NAMES:
        if isinstance(getattr(module, name, None), cls):
            return getattr(module, name)
    for value in vars(module).values():
        if isinstance(value, cls):
            return value
    for name in FACTORIES:
        factory = getattr(module, name, None)
        if callable(factory):
            app = factory()
            if isinstance(app, cls):
                return app
    return None


def fastapi_routes(app_dir):
    """The routes Starlette dispatches to: every APIRoute, those kept out
    of the OpenAPI document (include_in_schema=False) too, and the routes
    of sub-applications and routers mounted with app.mount(), behind the
    mount path. FastAPI's own documentation routes (/docs, /openapi.json)
    and mounts without routes (StaticFiles) are left out."""
    from fastapi import FastAPI
    routes = []
    fastapi_walk(find_app(app_dir, FastAPI).routes, "", routes)
    return routes


STARLETTE_CONVERTOR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):[^}]*\}")


def fastapi_walk(app_routes, prefix, routes):
    from starlette.routing import Mount, Route
    for r in app_routes:
        if isinstance(r, Mount):
            inner = getattr(r.app, "routes", None)
            if inner is not None:
                fastapi_walk(inner, prefix + r.path, routes)
        elif isinstance(r, Route):
            if getattr(r.endpoint, "__module__", "").startswith("fastapi."):
                continue
            methods = set(r.methods or [])
            # Starlette adds HEAD to a plain Route's GET; APIRoute does not.
            if type(r) is Route and "GET" in methods:
                methods.discard("HEAD")
            for method in sorted(methods):
                routes.append({"method": method, "path": STARLETTE_CONVERTOR.sub(r"{\1}", prefix + r.path)})


CONVERTER = re.compile(r"<(?:[^<>:]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def flask_routes(app_dir):
    from flask import Flask
    app = find_app(app_dir, Flask)
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path = CONVERTER.sub(r"{\1}", rule.rule)
        for method in sorted(rule.methods):
            routes.append({"method": method, "path": path,
                           "auto_options": bool(getattr(rule, "provide_automatic_options", False))})
    return routes


# --- Django: manage.py's settings, then the resolver.

def django_routes(app_dir):
    manage = find_manage(app_dir)
    project_dir = os.path.dirname(manage)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module(manage)
    os.chdir(project_dir)
    sys.path.insert(0, project_dir)
    import django
    django.setup()
    from django.urls import get_resolver
    routes = []
    walk(get_resolver().url_patterns, [], routes, os.path.realpath(app_dir))
    return routes


def find_manage(app_dir):
    found = []
    for root, _, files in os.walk(app_dir):
        if "manage.py" in files:
            found.append(os.path.join(root, "manage.py"))
    if not found:
        raise RuntimeError("no manage.py")
    return min(found, key=len)


def settings_module(manage):
    tree = ast.parse(open(manage).read())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "setdefault" and len(node.args) == 2
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == "DJANGO_SETTINGS_MODULE"):
            return node.args[1].value
    raise RuntimeError("manage.py does not set DJANGO_SETTINGS_MODULE")


def walk(patterns, pieces, routes, project):
    from django.urls import URLPattern, URLResolver
    for p in patterns:
        piece = pattern_piece(p.pattern)
        if isinstance(p, URLResolver):
            # The admin site and urlconfs of installed packages
            # (django.contrib.auth.urls) are the framework's, not the app's.
            if p.namespace == "admin" or not in_project(p.urlconf_name, project):
                continue
            walk(p.url_patterns, pieces + [piece], routes, project)
        elif isinstance(p, URLPattern):
            # django.conf.urls.static.static() serves files in DEBUG: like
            # Flask's static rule and FastAPI's docs, not one of the app's
            # endpoints.
            if getattr(p.callback, "__module__", "") == "django.views.static":
                continue
            path = "/" + "".join(pieces + [piece])
            for method in view_methods(p, project):
                routes.append({"method": method, "path": path})


def in_project(urlconf, project):
    if isinstance(urlconf, (list, tuple)):
        return True
    module = importlib.import_module(urlconf) if isinstance(urlconf, str) else urlconf
    return os.path.realpath(getattr(module, "__file__", "") or "").startswith(project + os.sep)


def pattern_piece(pattern):
    from django.urls.resolvers import RoutePattern, RegexPattern
    if isinstance(pattern, RoutePattern):
        return CONVERTER.sub(r"{\1}", pattern._route)
    if isinstance(pattern, RegexPattern):
        return regex_piece(pattern._regex)
    return str(pattern)


def regex_piece(regex):
    """A regex as {name} form when it is a plain string with named groups
    (an optional trailing slash, /?$, left out), else the regex itself: the
    rule sandbox/endpoints' regexPiece follows."""
    s = regex[1:] if regex.startswith("^") else regex
    if s.endswith("$"):
        s = s[:-1]
        if s.endswith("/?"):
            s = s[:-2]
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if s.startswith("(?P<", i):
            end, close = s.find(">", i), closing_paren(s, i)
            if end < 0 or close < 0:
                return regex
            out.append("{" + s[i + 4:end] + "}")
            i = close + 1
        elif c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in ".^$*+?{}[]|()\\/-_~":
                return regex
            out.append(s[i + 1])
            i += 2
        elif c in ".^$*+?{}[]|()":
            return regex
        else:
            out.append(c)
            i += 1
    return "".join(out)


def closing_paren(s, start):
    depth, in_class, i = 0, False, start
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 1
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def view_methods(pattern, project):
    """The methods a view answers, as Django decides.

    A class-based view (view_class, or a REST framework viewset's cls and
    actions) answers the http_method_names it has a handler for; OPTIONS,
    which django.views.View and APIView define for every view, counts only
    when a class of the app defines it.

    A function view leaves no trace of require_http_methods and the like, so
    it is called once per method through RequestFactory (no middleware, no
    database needed for the check): 405 means the method is not allowed,
    anything else, an exception included, means the view accepted it. A view
    that accepts all seven methods is one row, ALL. The request carries a
    logged-in user, so that login_required lets it through to the method
    check instead of redirecting every method.
    """
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:
        return [m.upper() for m in actions]
    cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if cls is not None:
        methods = []
        for m in cls.http_method_names:
            if not hasattr(cls, m):
                continue
            if m == "options" and not defined_in_project(cls, m, project):
                continue
            methods.append(m.upper())
        return methods
    return probe(callback, pattern)


def defined_in_project(cls, name, project):
    for klass in cls.__mro__:
        if name in vars(klass):
            module = sys.modules.get(klass.__module__)
            return os.path.realpath(getattr(module, "__file__", "") or "").startswith(project + os.sep)
    return False


class ProbeUser:
    is_authenticated = True
    is_active = True
    is_staff = True
    is_superuser = True
    pk = id = 1

    def has_perm(self, *args):
        return True

    def has_perms(self, *args):
        return True


def probe(callback, pattern):
    from django.test import RequestFactory
    factory = RequestFactory()
    kwargs = {name: "1" for name in pattern.pattern.regex.groupindex}
    allowed = []
    for method in HTTP:
        request = factory.generic(method, "/")
        request.user = ProbeUser()
        try:
            status = callback(request, **kwargs).status_code
        except Exception:  # noqa: BLE001 - the view ran: the method got through
            status = 500
        if status != 405:
            allowed.append(method)
    return ["ALL"] if len(allowed) == len(HTTP) else allowed


if __name__ == "__main__":
    main()
