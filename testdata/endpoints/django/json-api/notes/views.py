import json

from django.http import HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Note


@csrf_exempt
def notes(request):
    """List notes or create one."""
    if request.method == "GET":
        return JsonResponse({"notes": list(Note.objects.values())})
    elif request.method == "POST":
        data = json.loads(request.body)
        note = Note.objects.create(title=data["title"], body=data.get("body", ""))
        return JsonResponse({"id": note.id}, status=201)
    return HttpResponseNotAllowed(["GET", "POST"])


@csrf_exempt
def note_detail(request, note_id):
    if request.method == "GET":
        return JsonResponse(Note.objects.filter(pk=note_id).values().first() or {})
    if request.method == "PUT":
        return JsonResponse({"updated": note_id})
    if request.method == "DELETE":
        Note.objects.filter(pk=note_id).delete()
        return JsonResponse({}, status=204)
    return HttpResponseNotAllowed(["GET", "PUT", "DELETE"])


@csrf_exempt
def archive(request, note_id):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return JsonResponse({"archived": note_id})


def search(request):
    """Search notes by title; any method works."""
    q = request.GET.get("q", "")
    return JsonResponse({"q": q})
