from django.http import HttpResponse
from django.views import View
from django.views.decorators.http import require_GET


@require_GET
def board(request):
    return HttpResponse("board")


@require_GET
def thread(request, thread_id):
    return HttpResponse("thread")


class ThreadReplyView(View):
    def post(self, request, thread_id):
        return HttpResponse("reply")
