from app.auth import bp


@bp.route("/login", methods=["GET", "POST"])
def login():
    return "login"


@bp.route("/logout")
def logout():
    return "logout"


@bp.route("/reset_password/<token>", methods=["GET", "POST"])
def reset_password(token):
    return token
