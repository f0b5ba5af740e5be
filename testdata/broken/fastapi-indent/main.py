from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index():
    greeting = "hello"
      return {"message": greeting}
