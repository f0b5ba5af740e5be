from flask import Flask

app = Flask(__name__)


@app.route("/files/<path:filename>")
def files(filename):
    return filename


@app.route("/price/<float:amount>")
def price(amount):
    return str(amount)


@app.route("/objects/<uuid:oid>")
def objects(oid):
    return str(oid)


@app.route("/lang/<any(en, fr, de):lang>/")
def lang(lang):
    return lang


@app.route("/user/<username>/posts/<int:post_id>/")
def user_post(username, post_id):
    return username


@app.route("/archive/<int(fixed_digits=4):year>/<int(min=1, max=12):month>")
def archive(year, month):
    return "archive"
