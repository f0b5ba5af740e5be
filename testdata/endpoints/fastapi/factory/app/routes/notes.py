from datetime import datetime
from typing import Optional

from fastapi import APIRouter, Query
from pydantic import BaseModel

router = APIRouter()


class Note(BaseModel):
    text: str
    pinned: bool = False


@router.get("")
async def list_notes(search: Optional[str] = Query(None, max_length=50), since: Optional[datetime] = None):
    """Search notes."""
    return []


@router.post("", status_code=201)
async def add_note(note: Note):
    return note


@router.get("/{note_id}")
async def get_note(note_id: int):
    return {}


@router.delete("/{note_id}")
async def remove_note(note_id: int):
    return None
