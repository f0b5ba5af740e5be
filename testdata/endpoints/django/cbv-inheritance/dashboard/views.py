from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.views import View

from .mixins import ReadOnlyResource


class WidgetList(LoginRequiredMixin, ReadOnlyResource, View):
    def post(self, request):
        """Add a widget."""
        return self.render_json({}, status=201)


class Widget(ReadOnlyResource, View):
    def put(self, request, pk):
        return self.render_json({})

    def delete(self, request, pk):
        return HttpResponse(status=204)


class Settings(Widget):
    """Settings can be read and replaced, never deleted."""

    http_method_names = ["get", "put", "head", "options"]


class Health(View):
    def get(self, request):
        return HttpResponse("ok")

    def head(self, request):
        return HttpResponse()


class Options(View):
    def options(self, request, *args, **kwargs):
        """Describe what the API accepts."""
        return HttpResponse()
