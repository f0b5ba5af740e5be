from django.urls import path

from shop import views

urlpatterns = [
    path("products/", views.products, name="products"),
    path("products/<slug:slug>/", views.product, name="product"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/<int:product_id>/", views.add_to_cart, name="cart-add"),
    path("cart/items/<int:item_id>/", views.cart_item, name="cart-item"),
    path("checkout/", views.checkout, name="checkout"),
    path("ping/", views.ping, name="ping"),
]
