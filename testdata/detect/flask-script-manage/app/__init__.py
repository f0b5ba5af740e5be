from flask import Flask


def create_app(config_name="default"):
    app = Flask(__name__)
    app.config["ENV_NAME"] = config_name
    return app
