"""Checks sample for Django: the list answers, one item's view raises."""
from django.http import JsonResponse

PRICES = {1: 2}
STOCK = {}


def list_items(request):
    return JsonResponse({"items": sorted(PRICES)})


def read_item(request, item_id):
    print(f"reading item {item_id}", flush=True)
    return JsonResponse({"id": item_id, "price": PRICES[item_id], "stock": STOCK[item_id]})


def by_slug(request, slug):
    return JsonResponse({"slug": slug})
