import os
from wsgiref.simple_server import make_server

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

application = get_wsgi_application()

httpd = make_server("0.0.0.0", 5000, application)
httpd.serve_forever()
