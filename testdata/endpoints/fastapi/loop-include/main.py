import importlib

from fastapi import FastAPI

from routers import PLUGINS, billing, catalog

app = FastAPI(title="Store")

for router in (catalog.router, billing.router):
    app.include_router(router)

# Plugins are imported by name at start-up: which modules they are is known
# only when the code runs.
for name in PLUGINS:
    module = importlib.import_module(f"routers.{name}")
    app.include_router(module.router, prefix=f"/{name}")


@app.get("/")
def root():
    """Store front."""
    return {"store": "open"}
