import sqlite3

from flask import Flask, g, jsonify, request

app = Flask(__name__)
DATABASE = "/tmp/inventory.db"


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(DATABASE)
    return g.db


@app.teardown_appcontext
def close_db(exception):
    db = g.pop("db", None)
    if db is not None:
        db.close()


@app.route("/api/warehouses", methods=["GET"])
def list_warehouses():
    return jsonify([])


@app.route("/api/warehouses", methods=["POST"])
def create_warehouse():
    return jsonify(request.json), 201


@app.route("/api/warehouses/<int:wid>", methods=["GET"])
def get_warehouse(wid):
    return jsonify({})


@app.route("/api/warehouses/<int:wid>", methods=["PUT"])
def update_warehouse(wid):
    return jsonify({})


@app.route("/api/warehouses/<int:wid>", methods=["DELETE"])
def delete_warehouse(wid):
    return "", 204


@app.route("/api/warehouses/<int:wid>/stock", methods=["GET"])
def warehouse_stock(wid):
    return jsonify([])


@app.route("/api/products", methods=["GET", "POST"])
def products():
    return jsonify([])


@app.route("/api/products/<string:sku>", methods=["GET", "PUT", "PATCH", "DELETE"])
def product(sku):
    return jsonify({})


@app.route("/api/products/<string:sku>/movements", methods=["GET"])
def movements(sku):
    return jsonify([])


@app.route("/api/transfers", methods=["POST"])
def transfer():
    return jsonify({}), 201


@app.route("/api/transfers/<int:tid>", methods=["GET"])
def get_transfer(tid):
    return jsonify({})


@app.route("/api/transfers/<int:tid>/cancel", methods=["POST"])
def cancel_transfer(tid):
    return jsonify({})


@app.route("/api/suppliers")
def suppliers():
    return jsonify([])


@app.route("/api/suppliers/<int:sid>/orders", methods=["GET", "POST"])
def supplier_orders(sid):
    return jsonify([])


@app.route("/api/reports/low-stock")
def low_stock():
    return jsonify([])


@app.route("/api/reports/valuation/<float:threshold>")
def valuation(threshold):
    return jsonify({})
