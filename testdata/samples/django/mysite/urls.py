from django.http import HttpResponse
from django.urls import include, path


def index(request):
    return HttpResponse("hello from django\n")


urlpatterns = [
    path("", index),
    path("api/items/", include("items.urls")),
]
