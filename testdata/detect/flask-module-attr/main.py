import flask as fl

application = fl.Flask(__name__)


@application.route("/")
def home():
    return "home"
