from django.urls import path

from . import views

todo_list = views.TodoViewSet.as_view({"get": "list", "post": "create"})
todo_detail = views.TodoViewSet.as_view({
    "get": "retrieve",
    "put": "update",
    "patch": "partial_update",
    "delete": "destroy",
})

urlpatterns = [
    path("hello/", views.hello),
    path("stats/", views.stats),
    path("todos/", todo_list, name="todo-list"),
    path("todos/<int:pk>/", todo_detail, name="todo-detail"),
    path("v2/todos/", views.TodoList.as_view()),
    path("v2/todos/<int:pk>/", views.TodoDetail.as_view()),
    path("v2/todos/<int:pk>/toggle/", views.ToggleTodo.as_view()),
]
