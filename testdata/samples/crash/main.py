"""A FastAPI app that fails at import, after writing one line."""
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index():
    return {"message": "hello from fastapi"}


print("crash sample: importing main", flush=True)
raise RuntimeError("boom on import")
