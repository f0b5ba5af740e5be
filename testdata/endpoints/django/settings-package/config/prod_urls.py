from django.urls import path

from events.views import event_list

urlpatterns = [path("only-in-prod/", event_list)]
