from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "blog"

    def ready(self):
        limits = {"posts_per_page": "ten"}
        self.per_page = int(limits["posts_per_page"])
