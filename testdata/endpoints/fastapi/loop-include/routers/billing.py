from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix="/billing", tags=["billing"])


class Payment(BaseModel):
    amount: float
    currency: str = "EUR"


@router.post("/pay")
def pay(payment: Payment):
    return {}
