from flask import Flask

from .extensions import db


def create_app(config_object="app.config.Config"):
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_object)
    db.init_app(app)

    with app.app_context():
        from .routes import main as main_blueprint

        app.register_blueprint(main_blueprint)

    return app
