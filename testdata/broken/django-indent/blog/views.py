from django.http import HttpResponse


def index(request):
    text = "hello"
	return HttpResponse(text)
