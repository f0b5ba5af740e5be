from flask import Blueprint, jsonify

orders = Blueprint("orders", __name__)


@orders.route("/", methods=["GET", "POST"])
def collection():
    return jsonify([])


@orders.route("/<int:order_id>", methods=["GET", "DELETE"])
def item(order_id):
    return jsonify({})
