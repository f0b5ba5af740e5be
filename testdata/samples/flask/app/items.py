from flask import Blueprint, jsonify

bp = Blueprint("items", __name__, url_prefix="/api/items")


@bp.route("/<int:item_id>")
def read_item(item_id):
    return jsonify({"id": item_id})
