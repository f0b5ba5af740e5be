from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter()


class OrderIn(BaseModel):
    sku: str
    quantity: int = 1


@router.post("/")
def place_order(order: OrderIn):
    """Place an order."""
    return order


@router.get("/{order_id}")
def get_order(order_id: int):
    return {"id": order_id}
