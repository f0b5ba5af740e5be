"""Reports the running app's own route table to the shim.

Loaded at every interpreter start by previewd-lazy.pth; does nothing unless
the shim set PREVIEWD_ROUTES ("<socket path>:<child id>", see
cmd/previewshim/routes.go). It then waits, at no cost, for the server
modules previews run under to be imported, and wraps the one place each
takes the app object that it serves:

- uvicorn: Server.startup, once the app is imported, its lifespan has run
  and the server listens (the ASGI app is config.loaded_app);
- gunicorn: Worker.load_wsgi, in each worker, once the WSGI app is loaded.

The table is read from the framework's own structures, calling no code of
the app: Starlette/FastAPI app.routes (every route, mounts followed with
their prefix), Flask app.url_map, Django's URL resolver (includes followed).
It is written to the shim as one JSON object {"child", "framework",
"routes": [{"method", "path"}]}; parameters are written {name}. A failure
costs the table only, never the app.

The rows follow what sandbox/endpoints lists as an app's endpoints: the
framework's own documentation routes (FastAPI's /docs, /openapi.json),
static file mounts and rules, Django's admin site and the URLs of installed
packages are left out; HEAD that Starlette or Werkzeug add beside GET and
OPTIONS that Flask adds are left out; a route that answers every method is
one row, ALL.
"""
import importlib.abc
import os
import sys

HTTP = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
# Flask/Django converters (<int:id>) and Starlette's ({id:int}), as {id}.
CONVERTER = r"<(?:[^<>:]+:)?([A-Za-z_][A-Za-z0-9_]*)>"
STARLETTE_CONVERTOR = r"\{([A-Za-z_][A-Za-z0-9_]*):[^}]*\}"


def _target():
    spec = os.environ.get("PREVIEWD_ROUTES", "")
    addr, _, child = spec.rpartition(":")
    if not addr.startswith("/") or not child.isdigit():
        return None
    return addr, int(child)


# --- Hooks: each runs its module's code as usual, then wraps one function.

def _hook_uvicorn(module):
    startup = module.Server.startup

    async def wrapped(self, *args, **kwargs):
        result = await startup(self, *args, **kwargs)
        report(getattr(self.config, "loaded_app", None))
        return result

    module.Server.startup = wrapped


def _hook_gunicorn(module):
    load_wsgi = module.Worker.load_wsgi

    def wrapped(self, *args, **kwargs):
        result = load_wsgi(self, *args, **kwargs)
        report(getattr(self, "wsgi", None))
        return result

    module.Worker.load_wsgi = wrapped


HOOKS = {"uvicorn.server": _hook_uvicorn, "gunicorn.workers.base": _hook_gunicorn}


class _PatchingLoader:
    """A module's own loader, which runs a hook after the module's code."""

    def __init__(self, loader, hook):
        self._loader, self._hook = loader, hook

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        try:
            self._hook(module)
        except Exception:  # a server of another shape: no table, the app runs
            pass

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _HookFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        hook = HOOKS.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, hook)
                return spec
        return None


# --- Reporting.

def report(app):
    target = _target()
    if target is None or app is None:
        return
    try:
        framework, routes = table(app)
    except Exception:  # an app object of a shape not known here
        return
    if framework is None:
        return
    import json
    import socket
    body = json.dumps({"child": target[1], "framework": framework, "routes": routes}).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(target[0])
            s.sendall(body)
    except OSError:
        pass


def table(app):
    """The framework and route rows of app, or (None, None). Middleware
    that wraps the app (uvicorn's, gunicorn's, the app's own ASGI or WSGI
    wrappers) is looked through by its .app attribute."""
    seen = set()
    while app is not None and id(app) not in seen:
        seen.add(id(app))
        if _is(app, "starlette.applications", "Starlette") or _is(app, "starlette.routing", "Router"):
            routes = []
            _starlette(app.routes, "", routes)
            return "fastapi", routes
        if _is(app, "flask.app", "Flask"):
            return "flask", _flask(app)
        if _is(app, "django.core.handlers.wsgi", "WSGIHandler") or _is(app, "django.core.handlers.asgi", "ASGIHandler"):
            return "django", _django()
        app = getattr(app, "app", None) or getattr(app, "wsgi_app", None)
    return None, None


def _is(obj, module, name):
    cls = getattr(sys.modules.get(module), name, None)
    return cls is not None and isinstance(obj, cls)


def _starlette(app_routes, prefix, out):
    import re
    from starlette.routing import Mount, Route
    for r in app_routes:
        if isinstance(r, Mount):
            inner = getattr(r, "routes", None) or getattr(getattr(r, "app", None), "routes", None)
            if inner:
                _starlette(inner, prefix + r.path, out)
        elif isinstance(r, Route):
            if getattr(r.endpoint, "__module__", "").startswith("fastapi."):
                continue  # FastAPI's documentation routes
            methods = set(r.methods or [])
            if "GET" in methods and type(r) is Route:
                methods.discard("HEAD")  # Starlette adds it to a plain Route's GET
            path = re.sub(STARLETTE_CONVERTOR, r"{\1}", prefix + r.path)
            for m in sorted(methods):
                out.append({"method": m, "path": path})


def _flask(app):
    import re
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        methods = set(rule.methods or [])
        if getattr(rule, "provide_automatic_options", False):
            methods.discard("OPTIONS")
        if "GET" in methods:
            methods.discard("HEAD")  # Werkzeug adds it to every GET rule
        path = re.sub(CONVERTER, r"{\1}", rule.rule)
        for m in sorted(methods):
            out.append({"method": m, "path": path})
    return out


# --- Django.

def _django():
    from django.urls import get_resolver
    out = []
    _django_walk(get_resolver().url_patterns, [], out)
    return out


def _installed(path):
    """Whether a module file belongs to an installed package or the
    standard library rather than to the app."""
    path = os.path.realpath(path or "")
    if not path:
        return True
    if "/site-packages/" in path or "/dist-packages/" in path:
        return True
    return any(path.startswith(os.path.realpath(p) + os.sep)
               for p in {sys.base_prefix + "/lib", sys.prefix + "/lib"})


def _module_file(urlconf):
    if isinstance(urlconf, (list, tuple)):
        return None
    module = sys.modules.get(urlconf) if isinstance(urlconf, str) else urlconf
    return getattr(module, "__file__", "") or ""


def _django_walk(patterns, pieces, out):
    from django.urls import URLPattern, URLResolver
    for p in patterns:
        piece = _piece(p.pattern)
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue
            f = _module_file(p.urlconf_name)
            if f is not None and _installed(f):
                continue  # django.contrib.auth.urls and the like
            _django_walk(p.url_patterns, pieces + [piece], out)
        elif isinstance(p, URLPattern):
            if getattr(p.callback, "__module__", "") == "django.views.static":
                continue
            path = "/" + "".join(pieces + [piece])
            for m in _view_methods(p.callback):
                out.append({"method": m, "path": path})


def _piece(pattern):
    import re
    from django.urls.resolvers import RegexPattern, RoutePattern
    if isinstance(pattern, RoutePattern):
        return re.sub(CONVERTER, r"{\1}", pattern._route)
    if isinstance(pattern, RegexPattern):
        return _regex_piece(pattern._regex)
    return str(pattern)


def _regex_piece(regex):
    """A regex as {name} form when it is a plain string with named groups
    (an optional trailing slash, /?$, left out), else the regex itself."""
    s = regex[1:] if regex.startswith("^") else regex
    if s.endswith("$"):
        s = s[:-1]
        if s.endswith("/?"):
            s = s[:-2]
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if s.startswith("(?P<", i):
            end, close = s.find(">", i), _closing(s, i)
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


def _closing(s, start):
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


def _view_methods(callback):
    """The methods a view answers, read from the view, never calling it: a
    REST framework viewset's actions; a class-based view's handlers (OPTIONS,
    which every Django and REST framework view has, only when a class of
    the app defines it); a function view's require_http_methods list (and
    require_GET, require_POST, require_safe, which use it); else every
    method, ALL. A function view that branches on request.method itself
    and turns the rest away with `return HttpResponseNotAllowed([...])`
    answers the methods that list names: its source is read for it, as
    static discovery reads it."""
    actions = getattr(callback, "actions", None)
    if actions:
        return [m.upper() for m in actions]
    cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if cls is not None:
        out = []
        for m in cls.http_method_names:
            if not hasattr(cls, m):
                continue
            if m == "options" and not _defined_in_app(cls, m):
                continue
            out.append(m.upper())
        return out
    allowed = _required_methods(callback)
    if allowed is None:
        allowed = _not_allowed_methods(callback)
    if allowed is None:
        return ["ALL"]
    return [m for m in HTTP if m in allowed]


def _defined_in_app(cls, name):
    for klass in cls.__mro__:
        if name in vars(klass):
            module = sys.modules.get(klass.__module__)
            return not _installed(getattr(module, "__file__", "") or "")
    return False


def _required_methods(fn):
    """The intersection of the request_method_list of every
    require_http_methods wrapper around fn (functools.wraps links them by
    __wrapped__), None if there is none."""
    allowed, seen = None, set()
    while fn is not None and id(fn) not in seen:
        seen.add(id(fn))
        code = getattr(fn, "__code__", None)
        names = getattr(code, "co_freevars", ())
        if "request_method_list" in names and getattr(fn, "__closure__", None):
            try:
                value = fn.__closure__[names.index("request_method_list")].cell_contents
            except (ValueError, IndexError):
                value = None
            if isinstance(value, (list, tuple, set, frozenset)):
                methods = {str(v).upper() for v in value}
                allowed = methods if allowed is None else allowed & methods
        fn = getattr(fn, "__wrapped__", None)
    return allowed


def _not_allowed_methods(fn):
    """The methods of a `return HttpResponseNotAllowed([...])` in the view
    function's own body (decorators looked through), None without one."""
    import ast
    import inspect
    import textwrap
    while getattr(fn, "__wrapped__", None) is not None:
        fn = fn.__wrapped__
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    if not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    todo = list(tree.body[0].body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue  # another function's returns
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            call = node.value
            name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
            arg = call.args[0] if call.args else next(
                (k.value for k in call.keywords if k.arg == "permitted_methods"), None)
            if name == "HttpResponseNotAllowed" and isinstance(arg, (ast.List, ast.Tuple, ast.Set)):
                names = [e.value for e in arg.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                if names and len(names) == len(arg.elts):
                    return {n.upper() for n in names}
        todo.extend(ast.iter_child_nodes(node))
    return None


if _target() is not None and not any(isinstance(f, _HookFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _HookFinder())
