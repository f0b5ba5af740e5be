from flask import Blueprint, jsonify

users = Blueprint("users", __name__, url_prefix="/users")


@users.get("/")
def list_users():
    return jsonify([])


@users.post("/")
def create_user():
    return jsonify({}), 201


@users.get("/<int:user_id>")
def get_user(user_id):
    return jsonify({})
