from flask import Blueprint

items = Blueprint("items", __name__, url_prefix="/api/items")
