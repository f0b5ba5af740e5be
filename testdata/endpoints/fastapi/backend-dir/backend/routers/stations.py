from fastapi import APIRouter

router = APIRouter()


@router.get("/")
async def stations():
    return []


@router.get("/{station_id}/readings/{reading_id}")
async def reading(station_id: int, reading_id: int, raw: bool = False):
    return {}
