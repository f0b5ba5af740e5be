"""Checks sample for Flask: one route answers, one raises in its view."""
from flask import Flask

app = Flask(__name__)

PRICES = {"pen": 2}


@app.get("/")
def index():
    return "<!doctype html><title>flask checks</title><h1>hello</h1>"


@app.get("/prices/<name>")
def price(name):
    return {"name": name, "price": PRICES[name]}
