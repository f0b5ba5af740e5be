from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .routers import items, users

app = FastAPI(title="Shop")

app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])

app.include_router(users.router)
app.include_router(items.router)


@app.get("/health", tags=["meta"])
async def health():
    return {"status": "ok"}
