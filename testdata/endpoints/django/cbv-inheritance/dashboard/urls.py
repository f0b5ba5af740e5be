from django.urls import path

from .views import Health, Options, Settings, Widget, WidgetList

urlpatterns = [
    path("widgets/", WidgetList.as_view()),
    path("widgets/<int:pk>/", Widget.as_view()),
    path("settings/", Settings.as_view()),
    path("health/", Health.as_view()),
    path("options/", Options.as_view()),
]
