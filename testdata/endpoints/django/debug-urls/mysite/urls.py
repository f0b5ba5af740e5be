from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path

from pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("pages/", include("pages.urls")),
] + static(settings.STATIC_URL, document_root=settings.BASE_DIR / "static")

urlpatterns += [
    path("robots.txt", views.robots),
]

if settings.DEBUG:
    urlpatterns += [
        path("__debug__/styleguide/", views.styleguide),
    ]

urlpatterns.append(path("healthz", views.healthz))
