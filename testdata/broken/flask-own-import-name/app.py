from flask import Flask

from helpers import format_price, format_date

app = Flask(__name__)


@app.route("/")
def index():
    return format_price(3)
