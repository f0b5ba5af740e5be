from fastapi import APIRouter

from ..models import Order

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("/")
async def list_orders(status: str = "open"):
    return []


@router.post("/")
async def create_order(order: Order):
    return order


@router.get("/{order_id}")
async def get_order(order_id: int):
    return {}


@router.post("/{order_id}/cancel")
async def cancel_order(order_id: int, reason: str = ""):
    return {}


@router.post("/{order_id}/ship")
async def ship_order(order_id: int):
    return {}


@router.delete("/{order_id}")
async def delete_order(order_id: int):
    return None
