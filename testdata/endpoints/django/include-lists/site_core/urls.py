from django.urls import include, path

from wiki import views

extra_patterns = [
    path("reports/", views.report),
    path("charge/", views.charge),
]

history_patterns = ([
    path("", views.history),
    path("<int:revision>/", views.revision),
], "history")

urlpatterns = [
    path("", views.home),
    path("credit/", include(extra_patterns)),
    path("pages/<slug:page_slug>/history/", include(history_patterns)),
    path("pages/<slug:page_slug>/", include([
        path("", views.page),
        path("edit/", views.edit),
        path("discuss/", views.discuss),
    ])),
    path("api/", include(("wiki.api_urls", "wiki-api"), namespace="api")),
]
