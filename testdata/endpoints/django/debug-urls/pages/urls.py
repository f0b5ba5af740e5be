from django.urls import path

from .views import PageView, contact

urlpatterns = [
    path("<slug:slug>/", PageView.as_view(), name="page"),
    path("contact/send/", contact, name="contact"),
]
