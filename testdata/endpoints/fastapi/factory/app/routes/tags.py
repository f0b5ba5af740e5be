from fastapi import APIRouter

router = APIRouter()


@router.get("/")
def list_tags():
    return []


@router.get("/{tag}/notes")
def notes_for_tag(tag: str, page: int = 1):
    return []
