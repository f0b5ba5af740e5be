from typing import Optional

from fastapi import APIRouter

from app.models import Customer

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("/")
def list_customers(page: int = 1, per_page: int = 20, search: Optional[str] = None):
    return []


@router.post("/")
def create_customer(customer: Customer):
    return customer


@router.get("/{customer_id}")
def get_customer(customer_id: int):
    return {}


@router.put("/{customer_id}")
def replace_customer(customer_id: int, customer: Customer):
    return customer


@router.patch("/{customer_id}")
def patch_customer(customer_id: int, customer: Customer):
    return customer


@router.delete("/{customer_id}")
def delete_customer(customer_id: int):
    return None


@router.get("/{customer_id}/orders")
def customer_orders(customer_id: int, status: Optional[str] = None):
    return []
