from fastapi import FastAPI as F, APIRouter

api = F(
    title="Notes",  # app = FastAPI() would be wrong here
)
router = APIRouter()


@router.get("/notes")
def notes():
    return []


api.include_router(router)
