from fastapi import FastAPI

from .books import router as books_router
from .loans import router as loans_router


def register_routes(app: FastAPI) -> None:
    """Wire every router into the app."""
    app.include_router(books_router, prefix="/books", tags=["books"])
    app.include_router(loans_router, prefix="/loans", tags=["loans"])

    @app.get("/", include_in_schema=True)
    def home():
        return {"app": "library"}
