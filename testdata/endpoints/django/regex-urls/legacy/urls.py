from django.conf.urls import include, url

urlpatterns = [
    url(r"^blog/", include("blog.urls")),
    url(r"^$", include("blog.home_urls")),
]
