from rest_framework import generics, viewsets
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Todo
from .serializers import TodoSerializer


@api_view()
def hello(request):
    """Say hello."""
    return Response({"message": "Hello, world!"})


@api_view(["GET", "POST"])
def stats(request):
    return Response({"count": 0})


class TodoViewSet(viewsets.ModelViewSet):
    """Todos, the full CRUD."""

    queryset = Todo.objects.all()
    serializer_class = TodoSerializer


class TodoList(generics.ListCreateAPIView):
    queryset = Todo.objects.all()
    serializer_class = TodoSerializer


class TodoDetail(generics.RetrieveUpdateDestroyAPIView):
    queryset = Todo.objects.all()
    serializer_class = TodoSerializer


class ToggleTodo(APIView):
    def post(self, request, pk):
        """Flip the completed flag."""
        return Response({"id": pk})
