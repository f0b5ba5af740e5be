from django.http import JsonResponse


def read_item(request, item_id):
    return JsonResponse({"id": item_id})
