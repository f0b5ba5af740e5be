from flask import Flask


def create_app():
    app = Flask(__name__)
    from myapp.api import bp as api_bp
    from myapp.web.views import web

    app.register_blueprint(api_bp, url_prefix="/api")
    app.register_blueprint(web)
    return app
