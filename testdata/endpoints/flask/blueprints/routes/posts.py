from flask import Blueprint, jsonify, request

posts_bp = Blueprint("posts", __name__, url_prefix="/posts/")


@posts_bp.route("/")
def index():
    return jsonify([])


@posts_bp.route("/<int:post_id>")
def show(post_id):
    return jsonify({"id": post_id})


@posts_bp.route("/create", methods=["POST"])
def create():
    return jsonify(request.get_json()), 201


@posts_bp.route("/<int:post_id>/update", methods=["POST", "PUT"])
def update(post_id):
    return jsonify({})


@posts_bp.route("/<int:post_id>/delete", methods=["POST"])
def delete(post_id):
    return "", 204
