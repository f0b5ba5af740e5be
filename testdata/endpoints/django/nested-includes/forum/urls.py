from django.urls import include, path

from .views import board, thread, ThreadReplyView

app_name = "forum"
urlpatterns = [
    path("", board),
    path("threads/<int:thread_id>/", include([
        path("", thread),
        path("reply/", ThreadReplyView.as_view()),
    ])),
    path("mod/", include("forum.moderation.urls")),
]
