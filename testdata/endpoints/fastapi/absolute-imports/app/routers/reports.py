from fastapi import APIRouter

router = APIRouter(tags=["reports"])


@router.get("/daily")
def daily():
    return {}
