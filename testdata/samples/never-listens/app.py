"""A Flask app that never finishes importing, so it never answers."""
import time

from flask import Flask

print("sleeping", flush=True)
time.sleep(10**6)

app = Flask(__name__)


@app.route("/")
def index():
    return "hello from flask\n"
