from flask import Blueprint, render_template_string

main = Blueprint("main", __name__)


@main.route("/")
def home():
    return render_template_string("<h1>Blog</h1>")


@main.route("/about")
def about():
    return "about"
