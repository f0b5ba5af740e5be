from fastapi import FastAPI

from models import Item
from schemas import ItemOut

app = FastAPI()


@app.get("/items/{item_id}", response_model=ItemOut)
def read_item(item_id: int):
    return Item(id=item_id)
