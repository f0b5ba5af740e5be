from fastapi import FastAPI

from routes import register_routes

app = FastAPI(title="Library")
register_routes(app)
