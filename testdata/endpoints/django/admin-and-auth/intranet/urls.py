from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("login/", auth_views.LoginView.as_view(template_name="login.html"), name="staff-login"),
    path("logout/", auth_views.LogoutView.as_view(), name="staff-logout"),
    path("", include("staff.urls")),
]
