import time

from fastapi import FastAPI

app = FastAPI()


def wait_for_database():
    while True:
        print("waiting for the database...", flush=True)
        time.sleep(5)


wait_for_database()


@app.get("/")
def index():
    return {"ok": True}
