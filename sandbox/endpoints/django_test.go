package endpoints

import (
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// djangoProject is the manage.py and settings every Django test starts from.
func djangoProject(files map[string]string) map[string]string {
	files["manage.py"] = `
import os
def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_cfg.settings")
`
	files["site_cfg/__init__.py"] = ""
	files["site_cfg/settings.py"] = `ROOT_URLCONF = "site_cfg.urls"`
	return files
}

func TestDjangoIncludeChains(t *testing.T) {
	eps := extract(t, framework.Django, djangoProject(map[string]string{
		"site_cfg/urls.py": `
from django.contrib import admin
from django.urls import include, path
from shop import urls as shop_urls
from shop import views

extra = [path("credit/", views.credit)]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("shop/", include(shop_urls)),
    path("api/", include("shop.api_urls")),
    path("more/", include(extra)),
    path("ns/", include((extra, "ns"))),
    path("inline/<int:pk>/", include([
        path("", views.detail),
    ])),
]
`,
		"shop/__init__.py": "",
		"shop/urls.py": `
from django.urls import path
from . import views
urlpatterns = [path("", views.index)]
`,
		"shop/api_urls.py": `
from django.urls import path, include
from .views import index
urlpatterns = [path("v1/", include("shop.urls"))]
`,
		"shop/views.py": `
from django.views.decorators.http import require_GET, require_http_methods

@require_GET
def index(request):
    """The shop."""

@require_http_methods(["POST"])
def credit(request):
    pass

def detail(request, pk):
    pass
`,
	}))
	wantRows(t, eps,
		"GET /api/v1/ shop/urls.py:3",
		"ALL /inline/{pk}/ site_cfg/urls.py:15",
		"POST /more/credit/ site_cfg/urls.py:6",
		"POST /ns/credit/ site_cfg/urls.py:6",
		"GET /shop/ shop/urls.py:3",
	)
	if s := endpoint(t, eps, "GET", "/shop/").Summary; s != "The shop." {
		t.Errorf("summary = %q", s)
	}
	wantParams(t, endpoint(t, eps, "ALL", "/inline/{pk}/"), Param{Name: "pk", In: "path", Type: "integer", Required: true})
}

func TestDjangoClassBasedViews(t *testing.T) {
	eps := extract(t, framework.Django, djangoProject(map[string]string{
		"site_cfg/urls.py": `
from django.urls import path
from django.views.generic import TemplateView
from app import views

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html")),
    path("a/", views.Child.as_view()),
    path("b/", views.Limited.as_view()),
    path("c/", views.Edit.as_view()),
    path("d/", views.Remove.as_view()),
    path("e/", views.ItemViewSet.as_view({"get": "list", "post": "create"})),
]
`,
		"app/__init__.py": "",
		"app/views.py": `
from django.views import View
from django.views.generic import DeleteView, UpdateView

class Base(View):
    def get(self, request):
        """Read."""

class Child(Base):
    """A child view."""
    def post(self, request):
        pass
    def options(self, request):
        pass

class Limited(Child):
    http_method_names = ["get"]

class Edit(UpdateView):
    pass

class Remove(DeleteView):
    pass

class ItemViewSet:
    pass
`,
	}))
	wantRows(t, eps,
		"GET / site_cfg/urls.py:6",
		"GET /a/ site_cfg/urls.py:7",
		"POST /a/ site_cfg/urls.py:7",
		"OPTIONS /a/ site_cfg/urls.py:7",
		"GET /b/ site_cfg/urls.py:8",
		"GET /c/ site_cfg/urls.py:9",
		"POST /c/ site_cfg/urls.py:9",
		"PUT /c/ site_cfg/urls.py:9",
		"GET /d/ site_cfg/urls.py:10",
		"POST /d/ site_cfg/urls.py:10",
		"DELETE /d/ site_cfg/urls.py:10",
		"GET /e/ site_cfg/urls.py:11",
		"POST /e/ site_cfg/urls.py:11",
	)
	if s := endpoint(t, eps, "GET", "/a/").Summary; s != "Read." {
		t.Errorf("GET /a/ summary = %q, want the inherited handler's docstring", s)
	}
	if s := endpoint(t, eps, "POST", "/a/").Summary; s != "A child view." {
		t.Errorf("POST /a/ summary = %q, want the class docstring", s)
	}
}

func TestDjangoRegexPaths(t *testing.T) {
	cases := []struct{ regex, text string }{
		{`^items/(?P<pk>[0-9]+)/$`, "items/{pk}/"},
		{`^$`, ""},
		{`^blog/`, "blog/"},
		{`^(?P<year>[0-9]{4})/(?P<slug>[-\w]+)/$`, "{year}/{slug}/"},
		{`^feed\.xml$`, "feed.xml"},
		{`^search/(.+)/$`, `^search/(.+)/$`},
		{`^drafts/?$`, "drafts"},
		{`^tasks\.(?P<format>[a-z0-9]+)/?$`, "tasks.{format}"},
		{`^(?P<pk>[^/.]+)\.(?P<format>[a-z0-9]+)/?$`, "{pk}.{format}"},
		{`^drafts/?`, `^drafts/?`},
		{`^\d+/$`, `^\d+/$`},
	}
	for _, c := range cases {
		if got := regexPiece(c.regex).text; got != c.text {
			t.Errorf("regexPiece(%q) = %q, want %q", c.regex, got, c.text)
		}
	}
	if got := regexPiece(`^(?P<pk>\d+)$`).types["pk"]; got != "integer" {
		t.Errorf("type of a \\d+ group = %q, want integer", got)
	}
}

func TestDjangoFunctionViewMethods(t *testing.T) {
	eps := extract(t, framework.Django, djangoProject(map[string]string{
		"site_cfg/urls.py": `
from django.urls import re_path, path
from django.views.decorators.csrf import csrf_exempt
from app import views

urlpatterns = [
    re_path(r"^safe/(?P<pk>\d+)/$", views.safe),
    re_path(r"^posts/(.+)/$", views.post),
    path("api/", csrf_exempt(views.api)),
    path("manual/", views.manual),
]
`,
		"app/__init__.py": "",
		"app/views.py": `
from django.http import HttpResponseNotAllowed
from django.views.decorators.http import require_safe
from rest_framework.decorators import api_view

@require_safe
def safe(request, pk):
    pass

def post(request, slug):
    pass

@api_view(["GET", "PATCH"])
def api(request):
    pass

def manual(request):
    if request.method == "POST":
        return None
    return HttpResponseNotAllowed(["POST"])
`,
	}))
	wantRows(t, eps,
		"ALL /^posts/(.+)/$ site_cfg/urls.py:7",
		"GET /api/ site_cfg/urls.py:8",
		"PATCH /api/ site_cfg/urls.py:8",
		"POST /manual/ site_cfg/urls.py:9",
		"GET /safe/{pk}/ site_cfg/urls.py:6",
		"HEAD /safe/{pk}/ site_cfg/urls.py:6",
	)
}

func TestDjangoRootWithoutManagePy(t *testing.T) {
	eps := extract(t, framework.Django, map[string]string{
		"proj/urls.py": `
from django.urls import include, path
urlpatterns = [path("blog/", include("blog.urls"))]
`,
		"blog/urls.py": `
from django.urls import path
from . import views
urlpatterns = [path("<slug:slug>/", views.post)]
`,
		"blog/views.py": `
def post(request, slug):
    pass
`,
	})
	wantRows(t, eps, "ALL /blog/{slug}/ blog/urls.py:3")
}

func TestDjangoRESTFrameworkRouters(t *testing.T) {
	eps := extract(t, framework.Django, djangoProject(map[string]string{
		"site_cfg/urls.py": `
from django.urls import include, path
from rest_framework import routers
from app.views import NoteViewSet, TagViewSet

router = routers.DefaultRouter()
router.register(r"notes", NoteViewSet)

plain = routers.SimpleRouter(trailing_slash=False)
plain.register("tags", TagViewSet, basename="tag")

urlpatterns = [path("api/", include(router.urls))] + plain.urls
`,
		"app/__init__.py": "",
		"app/views.py": `
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

class NoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Notes."""
    lookup_field = "slug"

    @action(detail=True, methods=["post", "delete"], url_path="pin")
    def pin(self, request, slug=None):
        """Pin a note."""

class TagViewSet(viewsets.ViewSet):
    def create(self, request):
        pass
`,
	}))
	wantRows(t, eps,
		"GET /api/ :0",
		"GET /api/.{format} :0",
		"GET /api/notes.{format} site_cfg/urls.py:6",
		"GET /api/notes/ site_cfg/urls.py:6",
		"GET /api/notes/{slug}.{format} site_cfg/urls.py:6",
		"GET /api/notes/{slug}/ site_cfg/urls.py:6",
		"POST /api/notes/{slug}/pin.{format} site_cfg/urls.py:6",
		"DELETE /api/notes/{slug}/pin.{format} site_cfg/urls.py:6",
		"POST /api/notes/{slug}/pin/ site_cfg/urls.py:6",
		"DELETE /api/notes/{slug}/pin/ site_cfg/urls.py:6",
		"POST /tags site_cfg/urls.py:9",
	)
	if s := endpoint(t, eps, "POST", "/api/notes/{slug}/pin/").Summary; s != "Pin a note." {
		t.Errorf("action summary = %q", s)
	}
}
