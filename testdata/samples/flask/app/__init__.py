"""Flask sample: an application factory with a blueprint in a sub-module."""
from flask import Flask


def create_app():
    app = Flask(__name__)

    from .items import bp as items_bp

    app.register_blueprint(items_bp)

    @app.route("/")
    def index():
        return "hello from flask\n"

    return app
