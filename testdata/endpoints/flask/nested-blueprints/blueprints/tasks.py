from flask import Blueprint, jsonify

tasks = Blueprint("tasks", __name__)


@tasks.route("/")
def list_tasks(project_id):
    return jsonify([])


@tasks.route("/<int:task_id>", methods=["GET", "PATCH", "DELETE"])
def task(project_id, task_id):
    return jsonify({})
