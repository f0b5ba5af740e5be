from django.http import HttpResponse
from django.views import View
from django.views.decorators.http import require_GET


class SignUpView(View):
    """Sign up with an e-mail address."""

    def get(self, request):
        return HttpResponse("form")

    def post(self, request):
        """Create the account."""
        return HttpResponse("created", status=201)


@require_GET
def profile(request, username):
    return HttpResponse(username)
