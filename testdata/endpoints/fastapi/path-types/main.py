from enum import Enum
from typing import List, Optional
from uuid import UUID

from fastapi import Body, FastAPI, Path, Query
from pydantic import BaseModel


class ModelName(str, Enum):
    alexnet = "alexnet"
    resnet = "resnet"


class Image(BaseModel):
    url: str


app = FastAPI()


@app.get("/models/{model_name}")
async def get_model(model_name: ModelName):
    return {"model_name": model_name}


@app.get("/files/{file_path:path}")
async def read_file(file_path: str):
    """Serve a file by path."""
    return {"file_path": file_path}


@app.get("/items/{item_id}")
async def read_items(
    item_id: int = Path(..., title="The ID of the item to get", ge=1),
    q: Optional[str] = Query(None, alias="item-query"),
    tags: List[str] = Query([]),
    size: float = Query(...),
):
    return {}


@app.put("/items/{item_id}/image")
async def set_image(item_id: int, image: Image, importance: int = Body(...)):
    return {}


@app.get("/sessions/{session_id}")
async def get_session(session_id: UUID, verbose: bool = False):
    return {}


@app.post("/bulk")
async def bulk(ids: List[int], payload: dict):
    return {}
