from django.http import HttpResponse


def index(request):
    posts = ["a", "b"
    return HttpResponse(", ".join(posts))
