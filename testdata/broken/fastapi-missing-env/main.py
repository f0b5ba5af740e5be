from fastapi import FastAPI

from config import settings

app = FastAPI()


@app.get("/")
def index():
    return {"db": settings["db"]}
