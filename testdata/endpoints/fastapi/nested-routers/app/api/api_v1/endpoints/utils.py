from fastapi import APIRouter
from pydantic.networks import EmailStr

router = APIRouter()


@router.post("/test-email/", status_code=201)
def test_email(email_to: EmailStr):
    """Test emails."""
    return {"msg": "Test email sent"}
