from flask import Flask

from . import views, errors


def create_app():
    app = Flask(__name__)
    views.init_app(app)
    errors.init_app(app)
    return app
