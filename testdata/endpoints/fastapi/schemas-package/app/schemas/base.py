from pydantic import BaseModel


class RWModel(BaseModel):
    class Config:
        allow_population_by_field_name = True
