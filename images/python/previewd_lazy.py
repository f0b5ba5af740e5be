"""Defers the import of modules that apps import eagerly but rarely use.

Loaded at every interpreter start by previewd-lazy.pth. email_validator
imports dns.resolver at its top, and dns.resolver imports dns.query, which
imports httpx and requests (and through them rich, chardet, ...) when they
are installed, as they are here. FastAPI imports email_validator when it is
there, so every FastAPI app paid about half a second of start-up for a DNS
resolver that email_validator only uses to check an address's deliverability
(and a preview, with no network, cannot use at all). The module object is
created as usual; its code runs on first attribute access.
"""
import importlib.abc
import importlib.util
import sys

LAZY = frozenset({"dns.resolver"})


class LazyFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in LAZY:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


if not any(isinstance(f, LazyFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, LazyFinder())
