from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "hello"


@app.route("/health")
def health():
    return {"ok": True}


app.run(host="0.0.0.0", port=5000)
