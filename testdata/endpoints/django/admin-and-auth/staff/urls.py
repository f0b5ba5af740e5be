from django.contrib.auth.decorators import login_required
from django.urls import path

from . import views

urlpatterns = [
    path("", login_required(views.DirectoryView.as_view()), name="directory"),
    path("people/<int:pk>/", views.PersonView.as_view(), name="person"),
    path("timesheets/", views.timesheets, name="timesheets"),
]
