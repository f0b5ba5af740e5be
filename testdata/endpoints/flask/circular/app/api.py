from flask import jsonify

from . import app


@app.route("/api/messages")
def messages():
    return jsonify([])


@app.route("/api/messages/<int:message_id>", methods=["DELETE"])
def delete_message(message_id):
    return "", 204
