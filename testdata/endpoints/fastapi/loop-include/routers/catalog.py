from fastapi import APIRouter

router = APIRouter(prefix="/catalog", tags=["catalog"])


@router.get("/")
def catalog(page: int = 1):
    """Browse the catalog."""
    return []


@router.get("/{product_id}")
def product(product_id: int):
    return {}
