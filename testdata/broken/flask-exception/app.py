from flask import Flask

from models import load_catalog

app = Flask(__name__)
CATALOG = load_catalog()


@app.route("/")
def index():
    return {"count": len(CATALOG)}
