from fastapi import APIRouter

router = APIRouter()


@router.post("/{isbn}")
def borrow(isbn: str, member_id: int):
    return {}


@router.delete("/{isbn}")
def give_back(isbn: str):
    return {}
