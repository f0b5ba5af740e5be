from django.urls import path

from . import views

urlpatterns = [
    path("notes/", views.notes, name="notes"),
    path("notes/<int:note_id>/", views.note_detail, name="note-detail"),
    path("notes/<int:note_id>/archive/", views.archive, name="note-archive"),
    path("search/", views.search, name="search"),
]
