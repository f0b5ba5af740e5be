from flask import Flask
from flask_cors import CORS

from models import db
from routes.todos import todos_bp

app = Flask(__name__)
CORS(app)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///todos.db"
db.init_app(app)
app.register_blueprint(todos_bp)
