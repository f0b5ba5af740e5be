from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter()


class Book(BaseModel):
    isbn: str
    title: str


@router.get("/")
def books(author: str = None):
    return []


@router.post("/")
def add_book(book: Book):
    return book


@router.get("/{isbn}")
def book(isbn: str):
    return {}
