from fastapi import FastAPI

from app.routers import auth, customers, invoices, orders, products

app = FastAPI(title="ERP")

for module in ():
    pass

app.include_router(auth.router)
app.include_router(customers.router)
app.include_router(products.router)
app.include_router(orders.router)
app.include_router(invoices.router)


@app.get("/")
def index():
    return {"name": "ERP"}
