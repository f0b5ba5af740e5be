from fastapi import APIRouter

from app.models import Credentials

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
def login(credentials: Credentials):
    """Log in and get a token."""
    return {"token": "t"}


@router.post("/logout")
def logout():
    return {}


@router.post("/refresh")
def refresh(token: str):
    return {"token": token}
