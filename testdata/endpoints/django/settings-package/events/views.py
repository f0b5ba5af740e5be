from django.http import HttpResponse
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import DetailView, TemplateView
from django.views.generic.edit import FormView
from django import forms


class EventForm(forms.Form):
    title = forms.CharField()


@require_GET
def event_list(request):
    """Upcoming events."""
    return HttpResponse("events")


class EventCreate(FormView):
    form_class = EventForm
    template_name = "events/new.html"


class EventDetail(TemplateView):
    template_name = "events/detail.html"


@require_POST
def rsvp(request, event_id):
    return HttpResponse("ok")
