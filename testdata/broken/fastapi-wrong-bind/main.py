import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index():
    return {"ok": True}


uvicorn.run(app, host="127.0.0.1", port=5000)
