from .base import *  # noqa: F401,F403

DEBUG = False
ROOT_URLCONF = "config.prod_urls"
