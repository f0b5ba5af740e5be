from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

router = APIRouter()


@router.post("/login/access-token")
def login_access_token(form_data: OAuth2PasswordRequestForm = Depends()):
    """OAuth2 compatible token login, get an access token for future requests."""
    return {"access_token": "x", "token_type": "bearer"}


@router.post("/password-recovery/{email}")
def recover_password(email: str):
    """Password Recovery."""
    return {"msg": "sent"}
