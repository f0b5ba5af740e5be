from datetime import date
from typing import List, Optional

from pydantic import BaseModel


class Credentials(BaseModel):
    username: str
    password: str


class Customer(BaseModel):
    name: str
    email: str
    phone: Optional[str] = None


class Product(BaseModel):
    sku: str
    name: str
    price: float
    stock: int = 0


class OrderLine(BaseModel):
    sku: str
    quantity: int


class Order(BaseModel):
    customer_id: int
    lines: List[OrderLine]


class Invoice(BaseModel):
    order_id: int
    due: date
