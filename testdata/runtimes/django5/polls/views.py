from django.http import JsonResponse
from .models import Question


def index(request):
    return JsonResponse({"questions": Question.objects.count()})
