from flask import jsonify


def init_app(app):
    """Attach the views to the app."""

    @app.route("/")
    def index():
        return "index"

    @app.route("/api/time")
    def time():
        """Server time."""
        return jsonify(now="now")

    @app.route("/api/echo", methods=["POST"])
    def echo():
        return "echo"

    app.add_url_rule("/api/ping", "ping", lambda: "pong")
