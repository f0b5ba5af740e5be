from flask import Blueprint, jsonify

bp = Blueprint("items", __name__)


@bp.route("/items")
def items():
    return jsonify([1, 2, 3]]
