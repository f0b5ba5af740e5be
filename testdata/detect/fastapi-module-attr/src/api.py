import fastapi

router = fastapi.APIRouter()


@router.get("/ping")
def ping():
    return "pong"
