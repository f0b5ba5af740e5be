from django.urls import path, re_path

from notes import views

urlpatterns = [
    path("notes/", views.NoteList.as_view()),
    path("notes/<int:pk>/", views.NoteDetail.as_view()),
    re_path(r"^tags/(?P<slug>[-\w]+)/$", views.tag_detail),
    re_path(r"^archive/?$", views.archive),
]
