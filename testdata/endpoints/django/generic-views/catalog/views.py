from django.shortcuts import render
from django.urls import reverse_lazy
from django.views import generic
from django.views.generic.edit import CreateView, DeleteView, FormView, UpdateView
from django import forms

from .models import Book


def index(request):
    """Home page of the catalog."""
    return render(request, "index.html", {"num_books": Book.objects.count()})


class BookListView(generic.ListView):
    """All books, paginated."""

    model = Book
    paginate_by = 10


class BookDetailView(generic.DetailView):
    model = Book


class BookCreate(CreateView):
    """Add a book."""

    model = Book
    fields = ["title", "summary"]


class BookUpdate(UpdateView):
    model = Book
    fields = ["title", "summary"]


class BookDelete(DeleteView):
    model = Book
    success_url = reverse_lazy("books")


class SearchForm(forms.Form):
    q = forms.CharField()


class SearchView(FormView):
    form_class = SearchForm
    template_name = "search.html"
