from django.http import JsonResponse


def item(request, pk):
    return JsonResponse({"id": pk})
