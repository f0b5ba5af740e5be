from flask import Flask, abort, jsonify, request

app = Flask(__name__)

BOOKS = {}


@app.route("/")
def index():
    """Landing page."""
    return "<h1>Books</h1>"


@app.route("/api/books", methods=["GET"])
def list_books():
    """List books.

    Supports ?author= filtering.
    """
    author = request.args.get("author")
    return jsonify([b for b in BOOKS.values() if not author or b["author"] == author])


@app.route("/api/books", methods=["POST"])
def create_book():
    data = request.get_json()
    book_id = len(BOOKS) + 1
    BOOKS[book_id] = data
    return jsonify(data), 201


@app.route("/api/books/<int:book_id>", methods=["GET", "PUT", "DELETE"])
def book(book_id):
    if book_id not in BOOKS:
        abort(404)
    if request.method == "DELETE":
        return "", 204
    return jsonify(BOOKS[book_id])


@app.errorhandler(404)
def not_found(e):
    return jsonify(error="not found"), 404


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000, debug=True)
