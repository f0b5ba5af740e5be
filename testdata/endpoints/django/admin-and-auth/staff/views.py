from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.views.decorators.http import require_http_methods
from django.views.generic import DetailView, ListView
from django.contrib.auth.models import User


class DirectoryView(ListView):
    """Everyone in the company."""

    model = User


class PersonView(LoginRequiredMixin, DetailView):
    model = User


@login_required
@require_http_methods(["GET", "POST"])
def timesheets(request):
    return HttpResponse("timesheets")
