from django.urls import path

from .views import ItemDetail, ItemList, restock

urlpatterns = [
    path("items/", ItemList.as_view()),
    path("items/<int:pk>/", ItemDetail.as_view()),
    path("items/<int:pk>/restock/", restock),
]
