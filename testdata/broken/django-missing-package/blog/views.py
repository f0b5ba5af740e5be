from django.http import HttpResponse
import markdown


def index(request):
    return HttpResponse(markdown.markdown("# hello"))
