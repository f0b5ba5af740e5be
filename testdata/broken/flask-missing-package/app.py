from flask import Flask
from flask_limiter import Limiter

app = Flask(__name__)
limiter = Limiter(app)


@app.route("/")
def index():
    return "hello"
