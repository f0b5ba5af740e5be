from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.views import APIView


class NoteList(APIView):
    def get(self, request, format=None):
        return Response([])

    def post(self, request, format=None):
        return Response({}, status=201)


class NoteDetail(APIView):
    def get(self, request, pk, format=None):
        return Response({"id": pk})

    def delete(self, request, pk, format=None):
        return Response(status=204)


@api_view(["GET"])
def tag_detail(request, slug, format=None):
    return Response({"slug": slug})


@api_view(["GET", "POST"])
def archive(request, format=None):
    return Response([])
