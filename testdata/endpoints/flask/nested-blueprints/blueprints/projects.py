from flask import Blueprint, jsonify

from .tasks import tasks

projects = Blueprint("projects", __name__)
projects.register_blueprint(tasks, url_prefix="/<int:project_id>/tasks")


@projects.route("")
def list_projects():
    return jsonify([])


@projects.route("/<int:project_id>")
def get_project(project_id):
    return jsonify({})
