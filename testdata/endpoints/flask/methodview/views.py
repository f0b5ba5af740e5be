from flask import jsonify
from flask.views import MethodView, View


class BaseResource(MethodView):
    def get(self, **kwargs):
        """Shared read handler."""
        return jsonify(kwargs)


class CommentAPI(MethodView):
    def get(self, comment_id):
        return jsonify({})

    def delete(self, comment_id):
        return "", 204


class PlainView(View):
    methods = ["GET", "POST"]

    def dispatch_request(self):
        return "plain"
