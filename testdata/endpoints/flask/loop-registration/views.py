def health():
    """Liveness probe."""
    return "ok"


def ready():
    return "ready"


def version():
    return {"version": "1.2.0"}
