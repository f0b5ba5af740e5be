from flask import Flask, jsonify, request

app = Flask(__name__)
todos = []


@app.route("/todos", methods=["GET", "POST"])
def todos_view():
    if request.method == "POST":
        todos.append(request.get_json())
    return jsonify(todos)


if __name__ == "__main__":
    app.run(debug=True, port=5000)
