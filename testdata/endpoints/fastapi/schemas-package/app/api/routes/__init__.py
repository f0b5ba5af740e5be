from fastapi import APIRouter

from . import articles, profiles

router = APIRouter(prefix="/api")
router.include_router(articles.router, prefix="/articles", tags=["articles"])
router.include_router(profiles.router, prefix="/profiles", tags=["profiles"])
