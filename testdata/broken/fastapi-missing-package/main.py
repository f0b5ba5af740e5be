from fastapi import FastAPI

from routers import payments

app = FastAPI()
app.include_router(payments.router)
