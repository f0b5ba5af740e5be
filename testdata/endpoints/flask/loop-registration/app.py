from flask import Flask

from blueprints import BLUEPRINTS
from views import health, ready, version

app = Flask(__name__)

for blueprint, prefix in BLUEPRINTS:
    app.register_blueprint(blueprint, url_prefix=prefix)

PLAIN_RULES = [
    ("/healthz", health, ["GET"]),
    ("/readyz", ready, ["GET", "HEAD"]),
    ("/version", version, ["GET"]),
]

for rule, view, methods in PLAIN_RULES:
    app.add_url_rule(rule, view_func=view, methods=methods)
