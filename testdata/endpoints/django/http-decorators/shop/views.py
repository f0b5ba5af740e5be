from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe


@require_GET
def products(request):
    """Every product in the shop."""
    return JsonResponse({"products": []})


@require_safe
def product(request, slug):
    return JsonResponse({"slug": slug})


@require_http_methods(["GET", "DELETE"])
def cart(request):
    """The current cart; DELETE empties it."""
    return JsonResponse({})


@csrf_exempt
@require_POST
def add_to_cart(request, product_id):
    return JsonResponse({"added": product_id}, status=201)


@csrf_exempt
@require_http_methods(["PUT", "PATCH", "DELETE"])
def cart_item(request, item_id):
    return JsonResponse({})


@require_http_methods(["POST"])
def checkout(request):
    return JsonResponse({"order": 1})


def ping(request):
    return JsonResponse({"pong": True})
