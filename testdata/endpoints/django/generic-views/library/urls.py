from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView

urlpatterns = [
    path("", RedirectView.as_view(url="/catalog/", permanent=True)),
    path("about/", TemplateView.as_view(template_name="about.html"), name="about"),
    path("catalog/", include("catalog.urls")),
    path("admin/", admin.site.urls),
]
