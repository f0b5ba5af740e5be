from fastapi import APIRouter

router = APIRouter(tags=["reviews"])


@router.get("/{product_id}")
def reviews(product_id: int):
    return []
