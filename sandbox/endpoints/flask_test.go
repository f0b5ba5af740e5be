package endpoints

import (
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

func TestFlaskBlueprintsFactoryAndNesting(t *testing.T) {
	eps := extract(t, framework.Flask, map[string]string{
		"app/__init__.py": `
from flask import Flask

def create_app():
    app = Flask(__name__)
    from .api import api
    from app.pages import pages
    app.register_blueprint(api)
    app.register_blueprint(pages, url_prefix="/site/")
    return app
`,
		"app/api/__init__.py": `
from flask import Blueprint
from .users import users

api = Blueprint("api", __name__, url_prefix="/api")
api.register_blueprint(users, url_prefix="/people")
`,
		"app/api/users.py": `
from flask import Blueprint
users = Blueprint("users", __name__, url_prefix="/users")

@users.route("/", methods=["GET", "POST"])
def collection():
    """People.

    Lists or adds people."""

@users.delete("/<int:user_id>")
def remove(user_id):
    pass
`,
		"app/pages.py": `
from flask import Blueprint
pages = Blueprint("pages", __name__, url_prefix="/ignored")

@pages.route("")
def home():
    pass

@pages.route("/files/<path:name>")
def files(name):
    pass
`,
	})
	wantRows(t, eps,
		"GET /api/people/ app/api/users.py:4",
		"POST /api/people/ app/api/users.py:4",
		"DELETE /api/people/{user_id} app/api/users.py:10",
		"GET /site/ app/pages.py:4",
		"GET /site/files/{name} app/pages.py:8",
	)
	e := endpoint(t, eps, "POST", "/api/people/")
	if e.Summary != "People." || e.Description != "Lists or adds people." {
		t.Errorf("summary, description = %q, %q", e.Summary, e.Description)
	}
	wantParams(t, endpoint(t, eps, "DELETE", "/api/people/{user_id}"),
		Param{Name: "user_id", In: "path", Type: "integer", Required: true})
}

func TestFlaskConverters(t *testing.T) {
	cases := []struct {
		rule, path string
		types      map[string]string
	}{
		{"/a/<id>", "/a/{id}", map[string]string{"id": "string"}},
		{"/a/<int:id>/<float:x>", "/a/{id}/{x}", map[string]string{"id": "integer", "x": "number"}},
		{"/f/<path:p>", "/f/{p}", map[string]string{"p": "string"}},
		{"/l/<any(en, fr):lang>", "/l/{lang}", map[string]string{"lang": "string"}},
		{"/y/<int(fixed_digits=4):year>", "/y/{year}", map[string]string{"year": "integer"}},
	}
	for _, c := range cases {
		path, types := flaskPath(c.rule)
		if path != c.path || len(types) != len(c.types) {
			t.Errorf("flaskPath(%q) = %q, %v; want %q, %v", c.rule, path, types, c.path, c.types)
		}
		for k, v := range c.types {
			if types[k] != v {
				t.Errorf("flaskPath(%q) type of %s = %q, want %q", c.rule, k, types[k], v)
			}
		}
	}
}

func TestFlaskMethodViewsAndURLRules(t *testing.T) {
	eps := extract(t, framework.Flask, map[string]string{
		"views.py": `
from flask.views import MethodView

class Base(MethodView):
    def get(self, **kw):
        """Read it."""

class ItemAPI(Base):
    """An item."""
    def put(self, item_id):
        pass
    def delete(self, item_id):
        pass

def health():
    """Liveness."""
`,
		"app.py": `
from flask import Flask
import views
from views import ItemAPI

app = Flask(__name__)
app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
app.add_url_rule("/health", "health", views.health)
app.add_url_rule("/only-get/<int:item_id>", view_func=ItemAPI.as_view("ro"), methods=["GET"])

@app.route("/explicit", methods=["GET", "HEAD"])
def explicit():
    pass
`,
	})
	wantRows(t, eps,
		"GET /explicit app.py:10",
		"HEAD /explicit app.py:10",
		"GET /health app.py:7",
		"GET /items/{item_id} app.py:6",
		"PUT /items/{item_id} app.py:6",
		"DELETE /items/{item_id} app.py:6",
		"GET /only-get/{item_id} app.py:8",
	)
	if s := endpoint(t, eps, "GET", "/items/{item_id}").Summary; s != "Read it." {
		t.Errorf("GET summary = %q, want the inherited handler's docstring", s)
	}
	if s := endpoint(t, eps, "PUT", "/items/{item_id}").Summary; s != "An item." {
		t.Errorf("PUT summary = %q, want the class docstring", s)
	}
	if s := endpoint(t, eps, "GET", "/health").Summary; s != "Liveness." {
		t.Errorf("health summary = %q", s)
	}
}

func TestFlaskCircularPackageImport(t *testing.T) {
	eps := extract(t, framework.Flask, map[string]string{
		"app/__init__.py": `
from flask import Flask
app = Flask(__name__)
from app import routes
`,
		"app/routes.py": `
from app import app

@app.route("/")
@app.route("/index")
def index():
    pass
`,
	})
	wantRows(t, eps, "GET / app/routes.py:3", "GET /index app/routes.py:4")
}

func TestFlaskRegistrationLoops(t *testing.T) {
	eps := extract(t, framework.Flask, map[string]string{
		"app.py": `
from flask import Flask
from bps import ALL
import views

app = Flask(__name__)
for bp, prefix in ALL:
    app.register_blueprint(bp, url_prefix=prefix)
for rule, view in [("/a", views.a), ("/b", views.b)]:
    app.add_url_rule(rule, view_func=view)
for name in load_plugins():
    app.register_blueprint(name)
`,
		"views.py": `
def a():
    """A."""
def b():
    pass
`,
		"bps.py": `
from flask import Blueprint
one = Blueprint("one", __name__)

@one.route("/x")
def x():
    pass

ALL = [(one, "/v1"), (one, "/v2")]
`,
	})
	wantRows(t, eps, "GET /a app.py:9", "GET /b app.py:9", "GET /v1/x bps.py:4", "GET /v2/x bps.py:4")
	if s := endpoint(t, eps, "GET", "/a").Summary; s != "A." {
		t.Errorf("summary = %q", s)
	}
}
