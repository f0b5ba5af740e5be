from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, field_validator

app = FastAPI()


class Item(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str
    price: float

    @field_validator("price")
    @classmethod
    def positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("price must be positive")
        return v


@app.get("/")
def root():
    return Item(name=" x ", price=1).model_dump()
