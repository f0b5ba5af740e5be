from fastapi import APIRouter

router = APIRouter()

PRICES = {"apple": 3, "pear": 4}


def default_price():
    return PRICES["banana"]


DEFAULT_PRICE = default_price()


@router.get("/items")
def list_items():
    return PRICES
