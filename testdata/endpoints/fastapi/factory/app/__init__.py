from fastapi import FastAPI

from .config import API_PREFIX


def create_app() -> FastAPI:
    """Application factory."""
    application = FastAPI(title="Notes")

    from .routes import notes, tags

    application.include_router(notes.router, prefix=API_PREFIX + "/notes", tags=["notes"])
    application.include_router(tags.router, prefix=f"{API_PREFIX}/tags", tags=["tags"])

    @application.get("/ping")
    async def ping():
        return "pong"

    return application
