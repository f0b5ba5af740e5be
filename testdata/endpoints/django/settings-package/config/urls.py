from django.urls import include, path

urlpatterns = [
    path("events/", include("events.urls")),
]
