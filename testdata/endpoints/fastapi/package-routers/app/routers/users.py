from typing import List

from fastapi import APIRouter, HTTPException

from ..schemas import User, UserCreate

router = APIRouter(prefix="/users", tags=["users"])

fake_users = {}


@router.get("/", response_model=List[User])
async def read_users():
    """Read all users."""
    return list(fake_users.values())


@router.post("/", response_model=User, status_code=201)
async def create_user(user: UserCreate):
    """Register a user.

    The e-mail must be unique.
    """
    u = User(id=len(fake_users) + 1, email=user.email)
    fake_users[u.id] = u
    return u


@router.get("/{user_id}", response_model=User)
async def read_user(user_id: int):
    if user_id not in fake_users:
        raise HTTPException(404)
    return fake_users[user_id]
