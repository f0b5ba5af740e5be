from typing import Optional

from fastapi import APIRouter

from app.schemas import Item

router = APIRouter(
    prefix="/items",
    tags=["items"],
    responses={404: {"description": "Not found"}},
)


@router.get("/")
async def read_items(q: Optional[str] = None, limit: int = 10):
    return []


@router.get("/{item_id}")
async def read_item(item_id: str):
    return {"item_id": item_id}


@router.put("/{item_id}", tags=["custom"], summary="Replace an item")
async def update_item(item_id: str, item: Item):
    return {"item_id": item_id, "name": item.name}
