from fastapi import APIRouter, FastAPI

from api import v1, v2

app = FastAPI()

api = APIRouter(prefix="/api")
api.include_router(v1.router, prefix="/v1", tags=["v1"])
api.include_router(v2.router, prefix="/v2", tags=["v2"])
api.include_router(v1.shared, prefix="/v1")
api.include_router(v1.shared, prefix="/v2")

app.include_router(api)
