from flask import Flask, Response

app = Flask(__name__)


@app.route("/resource", methods=["GET", "HEAD", "OPTIONS"])
def resource():
    """A resource that answers HEAD and OPTIONS itself."""
    return Response("body", headers={"Allow": "GET, HEAD, OPTIONS"})


@app.route("/upload", methods=["POST", "OPTIONS"])
def upload():
    return "", 201


@app.route("/ping", methods=["HEAD"])
def ping():
    return ""


@app.route("/plain")
def plain():
    return "plain"
