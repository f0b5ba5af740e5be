"""A FastAPI app (one uvicorn process) that allocates memory in its own
process on POST /attack until the kernel kills it."""
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index():
    return {"message": "hello from the memory bomb"}


@app.post("/attack")
def attack():
    print("allocating until killed", flush=True)
    hog = []
    while True:
        block = bytearray(1 << 20)
        block[::4096] = b"x" * (len(block) // 4096)  # make every page resident
        hog.append(block)
