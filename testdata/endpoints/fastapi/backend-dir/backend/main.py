from fastapi import FastAPI

from routers import forecast, stations

app = FastAPI()
app.include_router(forecast.router, prefix="/api")
app.include_router(stations.router, prefix="/api/stations", tags=["stations"])
