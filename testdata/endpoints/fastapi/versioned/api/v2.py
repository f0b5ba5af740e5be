from fastapi import APIRouter

router = APIRouter()


@router.get("/users")
def users_v2(cursor: str = ""):
    return []


@router.post("/users")
def create_user_v2(name: str):
    return {}
