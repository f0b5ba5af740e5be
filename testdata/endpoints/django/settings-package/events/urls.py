from django.urls import path

from events.views import EventCreate, EventDetail, event_list, rsvp

urlpatterns = [
    path("", event_list),
    path("new/", EventCreate.as_view()),
    path("<uuid:event_id>/", EventDetail.as_view()),
    path("<uuid:event_id>/rsvp/", rsvp),
]
