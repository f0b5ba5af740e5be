from django.urls import path

from . import views

urlpatterns = [
    path("", views.list_items),
    path("<int:item_id>/", views.read_item),
    path("by-name/<slug:slug>/", views.by_slug),
]
