from flask import Blueprint

from .users import users
from .projects import projects

api = Blueprint("api", __name__, url_prefix="/api")
api.register_blueprint(users)
api.register_blueprint(projects, url_prefix="/projects")
