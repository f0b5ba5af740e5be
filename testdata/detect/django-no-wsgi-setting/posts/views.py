from django.http import HttpResponse
