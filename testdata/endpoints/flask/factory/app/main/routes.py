from flask import render_template_string

from app.main import bp


@bp.route("/")
@bp.route("/index")
def index():
    """Home page with the latest posts."""
    return render_template_string("<h1>Home</h1>")


@bp.route("/explore")
def explore():
    return "explore"


@bp.route("/user/<username>")
def user(username):
    return username


@bp.route("/edit_profile", methods=["GET", "POST"])
def edit_profile():
    return "edit"
