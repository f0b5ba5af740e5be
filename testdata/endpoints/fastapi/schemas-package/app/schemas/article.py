from typing import List, Optional

from .base import RWModel


class ArticleIn(RWModel):
    title: str
    body: str
    tags: List[str] = []


class ArticleUpdate(RWModel):
    title: Optional[str] = None
    body: Optional[str] = None
