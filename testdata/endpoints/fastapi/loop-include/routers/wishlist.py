from fastapi import APIRouter

router = APIRouter(tags=["wishlist"])


@router.get("")
def wishlist():
    return []


@router.post("/{product_id}")
def add(product_id: int):
    return {}
