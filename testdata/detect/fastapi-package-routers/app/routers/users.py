from fastapi import APIRouter, FastAPI  # FastAPI imported but never built here

router = APIRouter(prefix="/users")
