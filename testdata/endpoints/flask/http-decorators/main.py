from flask import Flask, jsonify, request

app = Flask(__name__)
notes = []


@app.get("/notes")
def get_notes():
    """All notes."""
    return jsonify(notes)


@app.post("/notes")
def add_note():
    notes.append(request.json)
    return jsonify(request.json), 201


@app.put("/notes/<int:idx>")
def put_note(idx):
    notes[idx] = request.json
    return jsonify(notes[idx])


@app.patch("/notes/<int:idx>")
def patch_note(idx):
    notes[idx].update(request.json)
    return jsonify(notes[idx])


@app.delete("/notes/<int:idx>")
def delete_note(idx):
    notes.pop(idx)
    return "", 204
