from flask import Flask

from routes.auth import auth_bp
from routes.posts import posts_bp
from routes.main import main

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"

app.register_blueprint(main)
app.register_blueprint(auth_bp)
app.register_blueprint(posts_bp)
