from fastapi import FastAPI

from .routers import items
from app.core.config import settings

app = FastAPI(title=settings.project_name)
app.include_router(items.router)
