from typing import Any, List

from fastapi import APIRouter, Body

from app.schemas.user import User, UserCreate, UserUpdate

router = APIRouter()


@router.get("/", response_model=List[User])
def read_users(skip: int = 0, limit: int = 100) -> Any:
    """Retrieve users."""
    return []


@router.post("/", response_model=User)
def create_user(*, user_in: UserCreate) -> Any:
    """Create new user."""
    return user_in


@router.put("/me", response_model=User)
def update_user_me(*, password: str = Body(None), full_name: str = Body(None), email: str = Body(None)) -> Any:
    """Update own user."""
    return {}


@router.get("/me", response_model=User)
def read_user_me() -> Any:
    """Get current user."""
    return {}


@router.get("/{user_id}", response_model=User)
def read_user_by_id(user_id: int) -> Any:
    """Get a specific user by id."""
    return {}


@router.put("/{user_id}", response_model=User)
def update_user(*, user_id: int, user_in: UserUpdate) -> Any:
    """Update a user."""
    return {}
