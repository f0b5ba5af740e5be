from fastapi import FastAPI

demo = FastAPI()
