SECRET_KEY = "x"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["catalog"]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
DATABASES = {}
