from flask import Flask

from .config import load_config


def create_app():
    app = Flask(__name__)
    app.config.update(load_config())

    @app.route("/")
    def index():
        return "hello"

    return app
