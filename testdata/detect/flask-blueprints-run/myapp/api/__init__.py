from flask import Blueprint

bp = Blueprint("api", __name__)

from myapp.api import items  # noqa: E402,F401  (registers routes)
