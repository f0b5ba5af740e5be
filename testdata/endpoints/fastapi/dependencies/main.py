from typing import Optional

from fastapi import BackgroundTasks, Depends, FastAPI, Header, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel

import database

app = FastAPI()
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


class Comment(BaseModel):
    body: str


def get_db():
    db = database.SessionLocal()
    try:
        yield db
    finally:
        db.close()


def common_parameters(q: Optional[str] = None, skip: int = 0, limit: int = 100):
    return {"q": q, "skip": skip, "limit": limit}


@app.post("/token")
async def token(request: Request):
    return {"access_token": "t"}


@app.get("/posts")
async def posts(commons: dict = Depends(common_parameters), db=Depends(get_db)):
    return []


@app.post("/posts/{post_id}/comments", status_code=201)
async def add_comment(
    post_id: int,
    comment: Comment,
    background_tasks: BackgroundTasks,
    token: str = Depends(oauth2_scheme),
    x_request_id: Optional[str] = Header(None),
):
    """Add a comment and notify the author in the background."""
    background_tasks.add_task(print, comment.body)
    return comment


@app.get("/internal/metrics", include_in_schema=False)
async def metrics():
    """Scraped by the monitoring sidecar; hidden from the docs."""
    return {"requests": 0}


@app.get("/me")
async def me(token: str = Depends(oauth2_scheme)):
    if not token:
        raise HTTPException(401)
    return {}
