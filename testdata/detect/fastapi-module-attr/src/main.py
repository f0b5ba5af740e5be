import fastapi

from src.api import router

application = fastapi.FastAPI(docs_url="/docs")
application.include_router(router)
