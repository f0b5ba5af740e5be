from fastapi import APIRouter, FastAPI

app = FastAPI()
subapi = FastAPI()
admin = APIRouter()


@app.get("/app")
def read_main():
    return {"message": "main app"}


@subapi.get("/sub")
def read_sub():
    return {"message": "sub app"}


@subapi.get("/items/{item_id}")
def read_item(item_id: int):
    return {"id": item_id}


@admin.post("/users/{user_id}/ban")
def ban(user_id: int):
    return {"banned": user_id}


@app.get("/hidden", include_in_schema=False)
def hidden():
    return {}


app.mount("/subapi", subapi)
app.mount("/admin", admin)
