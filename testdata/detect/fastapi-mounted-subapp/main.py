from fastapi import FastAPI

from admin.app import admin_app

app = FastAPI()
app.mount("/admin", admin_app)
