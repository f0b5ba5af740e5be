from flask import Flask, jsonify, request
from flask.views import MethodView

from views import BaseResource, CommentAPI

app = Flask(__name__)


class ItemAPI(MethodView):
    """One item."""

    def get(self, item_id):
        """Fetch an item."""
        return jsonify({"id": item_id})

    def put(self, item_id):
        """Replace an item."""
        return jsonify(request.get_json())

    def delete(self, item_id):
        return "", 204


class ItemListAPI(MethodView):
    def get(self):
        """List items."""
        return jsonify([])

    def post(self):
        """Create an item."""
        return jsonify(request.get_json()), 201


class UserAPI(BaseResource):
    def post(self, user_id):
        return jsonify({})


app.add_url_rule("/items/", view_func=ItemListAPI.as_view("items"))
app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
app.add_url_rule("/users/<int:user_id>", view_func=UserAPI.as_view("user"))
app.add_url_rule("/comments/<int:comment_id>", view_func=CommentAPI.as_view("comment"), methods=["GET"])
