from flask import jsonify

from myapp.api import bp


@bp.get("/items/<int:item_id>")
def item(item_id):
    return jsonify(id=item_id)
