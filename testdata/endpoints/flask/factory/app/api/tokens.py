from app.api import bp


@bp.route("/tokens", methods=["POST"])
def get_token():
    return {"token": "t"}


@bp.route("/tokens", methods=["DELETE"])
def revoke_token():
    return "", 204
