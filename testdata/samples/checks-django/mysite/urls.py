from django.http import HttpResponse, JsonResponse
from django.urls import include, path


def index(request):
    return HttpResponse("<!doctype html><title>django checks</title><h1>hello</h1>")


def health(request):
    print("health checked", flush=True)
    return JsonResponse({"ok": True})


urlpatterns = [
    path("", index),
    path("health/", health),
    path("api/items/", include("items.urls")),
]
