from fastapi import APIRouter

router = APIRouter()


@router.get("")
def list_products(category: str = "all"):
    return []


@router.get("/{sku}")
def get_product(sku: str):
    return {"sku": sku}
