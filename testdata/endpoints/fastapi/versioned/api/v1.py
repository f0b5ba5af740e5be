from fastapi import APIRouter

router = APIRouter()
shared = APIRouter(prefix="/shared", tags=["shared"])


@router.get("/users")
def users_v1():
    return []


@router.get("/users/{name}")
def user_v1(name: str):
    return {}


@shared.get("/version")
def version():
    """Which API version answered."""
    return {}
