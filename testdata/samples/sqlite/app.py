"""A Flask app that keeps a visit counter in a SQLite file next to its code,
as generated apps often do."""
import os
import sqlite3

from flask import Flask, jsonify

app = Flask(__name__)
DB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "visits.db")


def connect():
    conn = sqlite3.connect(DB)
    conn.execute("CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY)")
    return conn


@app.get("/")
def index():
    with connect() as conn:
        conn.execute("INSERT INTO visits DEFAULT VALUES")
        count = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
    return jsonify(visits=count, db=DB)
