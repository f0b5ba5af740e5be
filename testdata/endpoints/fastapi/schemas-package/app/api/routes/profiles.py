from fastapi import APIRouter

router = APIRouter()


@router.get("/{username}")
async def profile(username: str):
    return {}


@router.post("/{username}/follow")
async def follow(username: str):
    return {}


@router.delete("/{username}/follow")
async def unfollow(username: str):
    return {}
