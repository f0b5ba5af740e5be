from fastapi import APIRouter

router = APIRouter(tags=["forecast"])


@router.get("/forecast")
async def forecast(city: str = "Paris", days: int = 3):
    """Forecast for a city.

    Days are counted from today.
    """
    return {"city": city, "days": days}


@router.get("/forecast/{city}/hourly")
async def hourly(city: str, hours: float = 12.0):
    return []
