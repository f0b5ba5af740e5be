from fastapi import APIRouter

router = APIRouter(prefix="/items", tags=["items"])

ITEMS = {1: {"name": "pen"}}


@router.get("/")
def list_items():
    return list(ITEMS.values())


@router.get("/{item_id}")
def read_item(item_id: int):
    item = ITEMS[item_id]
    print(f"reading item {item_id}", flush=True)
    return {"name": item["name"], "price": item["price"]}
