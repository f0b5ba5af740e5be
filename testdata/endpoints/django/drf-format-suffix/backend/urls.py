from django.urls import include, path
from rest_framework.urlpatterns import format_suffix_patterns

urlpatterns = [
    path("api/", include("notes.urls")),
]

urlpatterns = format_suffix_patterns(urlpatterns)
