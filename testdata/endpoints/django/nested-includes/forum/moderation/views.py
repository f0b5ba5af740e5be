from django.http import HttpResponse
from django.views import View
from django.views.decorators.http import require_POST


class QueueView(View):
    def get(self, request):
        return HttpResponse("queue")

    def delete(self, request):
        return HttpResponse(status=204)


@require_POST
def ban(request, user_id):
    return HttpResponse("banned")
