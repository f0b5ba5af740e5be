import flask


def make_app() -> flask.Flask:
    application = flask.Flask(__name__)

    from project.blueprints.items import items
    from project.blueprints.users import users

    for bp in (items, users):
        application.register_blueprint(bp)
    return application
