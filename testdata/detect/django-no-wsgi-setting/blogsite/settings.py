DEBUG = True
INSTALLED_APPS = ["posts"]
ROOT_URLCONF = "blogsite.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/db.sqlite3"}}
