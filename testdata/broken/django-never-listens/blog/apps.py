import time

from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "blog"

    def ready(self):
        while True:
            print("warming the cache...", flush=True)
            time.sleep(5)
