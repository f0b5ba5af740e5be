from django.http import HttpResponse
from django.views.decorators.http import require_GET, require_http_methods


@require_GET
def home(request):
    return HttpResponse("home")


@require_GET
def post_list(request):
    """Published posts, newest first."""
    return HttpResponse("posts")


@require_GET
def post_detail(request, pk):
    return HttpResponse(pk)


@require_http_methods(["GET", "POST"])
def post_edit(request, pk):
    return HttpResponse("edit")


@require_GET
def archive(request, year, month):
    return HttpResponse("archive")


@require_GET
def tag_feed(request, tag):
    return HttpResponse("feed")


@require_GET
def search(request, query):
    return HttpResponse(query)


@require_GET
def drafts(request):
    return HttpResponse("drafts")


@require_http_methods(["GET", "POST"])
def post_new(request):
    return HttpResponse("new")
