from flask import jsonify
from flask.views import View


def index():
    """Home."""
    return "home"


def health():
    return jsonify(status="ok")


def submit():
    return "", 202


def thing(thing_id):
    return jsonify(id=str(thing_id))


class PlainView(View):
    methods = ["GET", "POST"]

    def dispatch_request(self):
        return "plain"
