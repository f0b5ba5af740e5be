from flask import Flask

app = Flask(__name__)
app.config["SECRET_KEY"] = "change-me"

from app import routes, api  # noqa: E402,F401
