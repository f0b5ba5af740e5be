from flask import Blueprint, jsonify

customers = Blueprint("customers", __name__)


@customers.get("/")
def list_customers():
    return jsonify([])


@customers.get("/<int:customer_id>/orders")
def customer_orders(customer_id):
    return jsonify([])
