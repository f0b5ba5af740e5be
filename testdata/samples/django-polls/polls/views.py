from django.http import Http404, JsonResponse

from .models import Question


def index(request):
    latest = Question.objects.order_by("-pub_date")[:5]
    return JsonResponse({"questions": [q.question_text for q in latest]})


def detail(request, question_id):
    try:
        q = Question.objects.get(pk=question_id)
    except Question.DoesNotExist:
        raise Http404("Question does not exist")
    return JsonResponse({"question": q.question_text, "choices": [c.choice_text for c in q.choice_set.all()]})
