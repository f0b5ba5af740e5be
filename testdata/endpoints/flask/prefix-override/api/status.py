from flask import Blueprint

status = Blueprint("status", __name__, url_prefix="/status")


@status.route("/")
def ok():
    return "ok"


@status.route("/live")
def live():
    return "live"
