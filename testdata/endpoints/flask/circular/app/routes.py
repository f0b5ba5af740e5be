from flask import render_template_string

from app import app


@app.route("/")
@app.route("/home")
def home():
    return render_template_string("<h1>Home</h1>")


@app.route("/contact", methods=["GET", "POST"])
def contact():
    """Contact form."""
    return "contact"
