from django.urls import path

from . import views

urlpatterns = [path("items/<int:pk>/", views.item)]
