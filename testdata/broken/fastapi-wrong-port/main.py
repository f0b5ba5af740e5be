import uvicorn
from fastapi import FastAPI

app = FastAPI(title="notes")


@app.get("/notes")
def notes():
    return []


uvicorn.run(app, host="0.0.0.0", port=5000)
