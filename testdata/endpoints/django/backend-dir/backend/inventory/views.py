import json

from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@method_decorator(csrf_exempt, name="dispatch")
class ItemList(View):
    def get(self, request):
        """All items in stock."""
        return JsonResponse({"items": []})

    def post(self, request):
        return JsonResponse(json.loads(request.body or "{}"), status=201)


@method_decorator(csrf_exempt, name="dispatch")
class ItemDetail(View):
    def get(self, request, pk):
        return JsonResponse({"id": pk})

    def patch(self, request, pk):
        return JsonResponse({"id": pk})

    def delete(self, request, pk):
        return JsonResponse({}, status=204)


@csrf_exempt
@require_POST
def restock(request, pk):
    return JsonResponse({"id": pk})
