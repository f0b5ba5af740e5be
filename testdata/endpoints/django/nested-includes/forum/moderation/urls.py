from django.urls import path

from . import views

urlpatterns = [
    path("queue/", views.QueueView.as_view()),
    path("ban/<int:user_id>/", views.ban),
]
