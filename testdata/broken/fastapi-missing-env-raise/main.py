import os

from fastapi import FastAPI

API_KEY = os.getenv("OPENAI_API_KEY")
if not API_KEY:
    raise RuntimeError("OPENAI_API_KEY environment variable is not set")

app = FastAPI()


@app.get("/")
def index():
    return {"ok": True}
