from flask import Blueprint, redirect, request, session, url_for

auth_bp = Blueprint("auth", __name__, url_prefix="/auth")


@auth_bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form, or log in."""
    if request.method == "POST":
        session["user"] = request.form["username"]
        return redirect(url_for("main.home"))
    return "<form method=post><input name=username></form>"


@auth_bp.route("/logout")
def logout():
    session.clear()
    return redirect(url_for("main.home"))


@auth_bp.route("/register", methods=("GET", "POST"))
def register():
    return "register"
