DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = []
ROOT_URLCONF = "notes.urls"
WSGI_APPLICATION = "notes.wsgi.application"
