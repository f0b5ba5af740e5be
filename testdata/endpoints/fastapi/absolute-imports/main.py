from fastapi import FastAPI

import app.routers.orders
from app.routers.products import router as products_router
from app.routers import reports

application = FastAPI()

application.include_router(products_router, prefix="/products", tags=["products"])
application.include_router(app.routers.orders.router, prefix="/orders")
application.include_router(reports.router, prefix="/reports")
