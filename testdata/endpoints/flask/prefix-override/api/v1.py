from flask import Blueprint, jsonify

api = Blueprint("api", __name__, url_prefix="/api")


@api.route("/items")
def items():
    return jsonify([])


@api.route("/items/<item_id>")
def item(item_id):
    return jsonify({"id": item_id})


@api.route("")
def root():
    return jsonify({"version": 1})
