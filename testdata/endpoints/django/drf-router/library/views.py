from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .models import Author, Book, Review
from .serializers import AuthorSerializer, BookSerializer, ReviewSerializer


class BookViewSet(viewsets.ModelViewSet):
    """Books in the catalogue."""

    queryset = Book.objects.all()
    serializer_class = BookSerializer

    @action(detail=True, methods=["post"])
    def borrow(self, request, pk=None):
        """Borrow a copy."""
        return Response({"borrowed": pk})

    @action(detail=False, url_path="recently-added")
    def recent(self, request):
        return Response([])


class AuthorViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Author.objects.all()
    serializer_class = AuthorSerializer
    lookup_field = "slug"


class ReviewViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Review.objects.all()
    serializer_class = ReviewSerializer


class StatsViewSet(viewsets.ViewSet):
    def list(self, request):
        """Library statistics."""
        return Response({})

    def retrieve(self, request, pk=None):
        return Response({"id": pk})
