from django.http import HttpResponse
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView


@require_GET
def home(request):
    return HttpResponse("home")


@require_GET
def robots(request):
    return HttpResponse("User-agent: *\n", content_type="text/plain")


@require_GET
def styleguide(request):
    return HttpResponse("styleguide")


@require_GET
def healthz(request):
    return HttpResponse("ok")


class PageView(TemplateView):
    template_name = "page.html"


@require_POST
def contact(request):
    return HttpResponse("sent")
