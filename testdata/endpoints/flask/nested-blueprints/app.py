from flask import Flask

from blueprints import api

app = Flask(__name__)
app.register_blueprint(api)


@app.route("/")
def index():
    return "index"
