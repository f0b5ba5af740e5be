from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods


@require_GET
def home(request):
    return HttpResponse("home")


@require_GET
def report(request):
    return HttpResponse("report")


@require_http_methods(["POST"])
def charge(request):
    return HttpResponse("charged")


@require_GET
def history(request, page_slug):
    return HttpResponse("history")


@require_GET
def revision(request, page_slug, revision):
    return HttpResponse("revision")


@require_GET
def page(request, page_slug):
    """Render a wiki page."""
    return HttpResponse(page_slug)


@require_http_methods(["GET", "POST"])
def edit(request, page_slug):
    return HttpResponse("edit")


def discuss(request, page_slug):
    return HttpResponse("discuss")


@require_GET
def api_pages(request):
    return JsonResponse({"pages": []})
