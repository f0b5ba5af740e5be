from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///:memory:"
db = SQLAlchemy(app)


class Task(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(120), nullable=False)
    done = db.Column(db.Boolean, default=False)


with app.app_context():
    db.create_all()


@app.route("/tasks", methods=["GET"])
def get_tasks():
    """List every task."""
    return jsonify([{"id": t.id, "title": t.title} for t in Task.query.all()])


@app.route("/tasks", methods=["POST"])
def create_task():
    task = Task(title=request.json["title"])
    db.session.add(task)
    db.session.commit()
    return jsonify({"id": task.id}), 201


@app.route("/tasks/<int:task_id>", methods=["PUT"])
def update_task(task_id):
    return jsonify({})


@app.route("/tasks/<int:task_id>", methods=["DELETE"])
def delete_task(task_id):
    return "", 204
