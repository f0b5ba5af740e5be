from fastapi import FastAPI

admin_app = FastAPI(openapi_prefix="/admin")
