from django.http import JsonResponse


class JSONResponseMixin:
    def render_json(self, data, status=200):
        return JsonResponse(data, status=status)


class ReadOnlyResource(JSONResponseMixin):
    def get(self, request, *args, **kwargs):
        """Read the resource."""
        return self.render_json({})
