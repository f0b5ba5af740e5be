from django.urls import include, path

from forum import urls as forum_urls

urlpatterns = [
    path("accounts/", include("accounts.urls")),
    path("forum/", include(forum_urls)),
]
