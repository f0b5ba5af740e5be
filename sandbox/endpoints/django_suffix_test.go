package endpoints

import (
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// REST framework's format_suffix_patterns doubles every entry with a
// .{format} variant, for path() and for regex routes, in included urlconfs
// too; the routes stay listed, not dropped, and no raw regex is left.
func TestDjangoFormatSuffixPatterns(t *testing.T) {
	eps := extract(t, framework.Django, djangoProject(map[string]string{
		"site_cfg/urls.py": `
from django.urls import include, path
from rest_framework.urlpatterns import format_suffix_patterns

urlpatterns = [
    path("api/", include("tasks.urls")),
]
urlpatterns = format_suffix_patterns(urlpatterns)
`,
		"tasks/__init__.py": "",
		"tasks/urls.py": `
from django.urls import path, re_path
from tasks import views

urlpatterns = [
    path("tasks/", views.TaskList.as_view()),
    re_path(r"^tasks/(?P<pk>[0-9]+)/$", views.TaskDetail.as_view()),
]
`,
		"tasks/views.py": `
from rest_framework import generics

class TaskList(generics.ListCreateAPIView):
    pass

class TaskDetail(generics.RetrieveDestroyAPIView):
    pass
`,
	}))
	wantRows(t, eps,
		"GET /api/tasks/ tasks/urls.py:5",
		"POST /api/tasks/ tasks/urls.py:5",
		"GET /api/tasks/{pk}.{format} tasks/urls.py:6",
		"DELETE /api/tasks/{pk}.{format} tasks/urls.py:6",
		"GET /api/tasks/{pk}/ tasks/urls.py:6",
		"DELETE /api/tasks/{pk}/ tasks/urls.py:6",
		"GET /api/tasks{format} tasks/urls.py:5",
		"POST /api/tasks{format} tasks/urls.py:5",
	)
}

// format_suffix_patterns around the urlconf's own list, as REST
// framework's tutorial writes it.
func TestDjangoFormatSuffixOwnList(t *testing.T) {
	eps := extract(t, framework.Django, djangoProject(map[string]string{
		"site_cfg/urls.py": `
from django.urls import path
from rest_framework.urlpatterns import format_suffix_patterns
from site_cfg import views

urlpatterns = format_suffix_patterns([
    path("snippets/<int:pk>/", views.snippet_detail),
])
`,
		"site_cfg/views.py": `
from rest_framework.decorators import api_view

@api_view(["GET", "PUT"])
def snippet_detail(request, pk, format=None):
    pass
`,
	}))
	wantRows(t, eps,
		"GET /snippets/{pk}/ site_cfg/urls.py:6",
		"PUT /snippets/{pk}/ site_cfg/urls.py:6",
		"GET /snippets/{pk}{format} site_cfg/urls.py:6",
		"PUT /snippets/{pk}{format} site_cfg/urls.py:6",
	)
}

// A viewset registered with an empty prefix answers at the include's own
// path, not below a doubled slash.
func TestDjangoRouterEmptyPrefix(t *testing.T) {
	eps := extract(t, framework.Django, djangoProject(map[string]string{
		"site_cfg/urls.py": `
from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("posts.urls")),
]
`,
		"posts/__init__.py": "",
		"posts/urls.py": `
from rest_framework.routers import SimpleRouter
from .views import PostViewSet

router = SimpleRouter()
router.register("", PostViewSet, basename="posts")
urlpatterns = router.urls
`,
		"posts/views.py": `
from rest_framework import viewsets

class PostViewSet(viewsets.ReadOnlyModelViewSet):
    pass
`,
	}))
	wantRows(t, eps,
		"GET /api/v1/ posts/urls.py:5",
		"GET /api/v1/{pk}/ posts/urls.py:5",
	)
}
