"""Todo API: everything in one module, as a first generation often is."""
from typing import List, Optional

from fastapi import FastAPI, HTTPException, status
from pydantic import BaseModel

app = FastAPI(title="Todo API", version="1.0.0")


class TodoCreate(BaseModel):
    title: str
    done: bool = False


class Todo(TodoCreate):
    id: int


TODOS: dict = {}


@app.get("/")
def read_root():
    """Health check.

    Returns a static greeting so that the preview shows something.
    """
    return {"message": "Hello World"}


@app.get("/todos", response_model=List[Todo])
async def list_todos(skip: int = 0, limit: int = 100, done: Optional[bool] = None):
    """List todos."""
    items = list(TODOS.values())
    if done is not None:
        items = [t for t in items if t.done == done]
    return items[skip : skip + limit]


@app.post("/todos", response_model=Todo, status_code=status.HTTP_201_CREATED)
async def create_todo(todo: TodoCreate):
    """Create a todo."""
    new = Todo(id=len(TODOS) + 1, **todo.dict())
    TODOS[new.id] = new
    return new


@app.get("/todos/{todo_id}", response_model=Todo)
async def get_todo(todo_id: int):
    if todo_id not in TODOS:
        raise HTTPException(status_code=404, detail="Todo not found")
    return TODOS[todo_id]


@app.put("/todos/{todo_id}", response_model=Todo)
async def update_todo(todo_id: int, todo: TodoCreate):
    TODOS[todo_id] = Todo(id=todo_id, **todo.dict())
    return TODOS[todo_id]


@app.patch("/todos/{todo_id}/done")
async def mark_done(todo_id: int, done: bool = True):
    TODOS[todo_id].done = done
    return TODOS[todo_id]


@app.delete("/todos/{todo_id}", status_code=204)
async def delete_todo(todo_id: int):
    TODOS.pop(todo_id, None)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=8000)
