"""Application factory.

Run with:  uvicorn main:create_app --factory
Do not write app = FastAPI() at module level: tests build their own.
"""
from fastapi import FastAPI

from settings import Settings


def get_settings(name: str) -> Settings:
    return Settings(name=name)


def create_app() -> FastAPI:
    application = FastAPI(title=get_settings("api").name)

    @application.get("/health")
    def health():
        return {"ok": True}

    return application
