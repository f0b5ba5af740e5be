from fastapi import APIRouter

from ..models import Product

router = APIRouter(prefix="/products", tags=["products"])


@router.get("/")
def list_products(in_stock: bool = False):
    return []


@router.post("/")
def create_product(product: Product):
    return product


@router.get("/{sku}")
def get_product(sku: str):
    return {}


@router.put("/{sku}")
def update_product(sku: str, product: Product):
    return product


@router.delete("/{sku}")
def delete_product(sku: str):
    return None


@router.post("/{sku}/stock")
def adjust_stock(sku: str, delta: int):
    return {}
