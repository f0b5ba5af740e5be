from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from routers import items
from models import Item  # noqa: F401

app = FastAPI()
app.include_router(items.router, prefix="/api")
app.mount("/static", StaticFiles(directory="static"), name="static")
