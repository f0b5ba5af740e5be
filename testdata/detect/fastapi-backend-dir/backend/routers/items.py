from fastapi import APIRouter

from models import Item

router = APIRouter()


@router.get("/items/{item_id}", response_model=Item)
def get_item(item_id: int):
    return Item(id=item_id, name="thing")
