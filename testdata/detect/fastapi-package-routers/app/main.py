from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.routers import items, users
from app.database import engine

app = FastAPI(
    title="Todo API",
    version="1.0.0",
)

app.add_middleware(CORSMiddleware, allow_origins=["*"])
app.include_router(items.router)
app.include_router(users.router)
