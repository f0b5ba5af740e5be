from flask import Flask

from api.v1 import api as api_v1
from api.status import status

app = Flask(__name__)

# The blueprint says /api; registration moves it, twice, under two names.
app.register_blueprint(api_v1, url_prefix="/v1")
app.register_blueprint(api_v1, url_prefix="/v2", name="api_v2")
app.register_blueprint(status)
