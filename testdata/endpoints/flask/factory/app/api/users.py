from flask import jsonify, request

from app.api import bp


@bp.route("/users/<int:id>", methods=["GET"])
def get_user(id):
    """Return one user."""
    return jsonify({"id": id})


@bp.route("/users", methods=["GET"])
def get_users():
    return jsonify([])


@bp.route("/users", methods=["POST"])
def create_user():
    return jsonify(request.get_json()), 201


@bp.route("/users/<int:id>", methods=["PUT"])
def update_user(id):
    return jsonify({})
