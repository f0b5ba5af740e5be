from django.urls import include, path
from rest_framework.routers import DefaultRouter, SimpleRouter

from . import views

router = DefaultRouter()
router.register(r"books", views.BookViewSet)
router.register(r"authors", views.AuthorViewSet)
router.register(r"reviews", views.ReviewViewSet)

internal = SimpleRouter(trailing_slash=False)
internal.register("stats", views.StatsViewSet, basename="stats")

urlpatterns = [
    path("", include(router.urls)),
]

urlpatterns += internal.urls
