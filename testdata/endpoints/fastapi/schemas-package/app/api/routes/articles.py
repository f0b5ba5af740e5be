from typing import Optional

from fastapi import APIRouter

from ...schemas.article import ArticleIn, ArticleUpdate

router = APIRouter()


@router.get("")
async def list_articles(tag: Optional[str] = None, author: Optional[str] = None, limit: int = 20, offset: int = 0):
    """List articles, newest first."""
    return []


@router.post("", status_code=201)
async def create_article(article: ArticleIn):
    return article


@router.get("/{slug}")
async def get_article(slug: str):
    return {}


@router.put("/{slug}")
async def update_article(slug: str, article: ArticleUpdate):
    return {}


@router.delete("/{slug}", status_code=204)
async def delete_article(slug: str):
    return None


@router.post("/{slug}/favorite")
async def favorite(slug: str):
    return {}
