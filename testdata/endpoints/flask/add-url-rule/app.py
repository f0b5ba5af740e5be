from flask import Flask

import handlers
from handlers import health, PlainView

app = Flask(__name__)

app.add_url_rule("/", "index", handlers.index)
app.add_url_rule("/health", view_func=health)
app.add_url_rule("/submit", "submit", handlers.submit, methods=["POST"])
app.add_url_rule("/things/<uuid:thing_id>", view_func=handlers.thing, methods=["GET", "PUT", "DELETE"])
app.add_url_rule("/plain", view_func=PlainView.as_view("plain"))
