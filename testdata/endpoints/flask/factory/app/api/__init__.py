from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import tokens, users  # noqa: E402,F401
