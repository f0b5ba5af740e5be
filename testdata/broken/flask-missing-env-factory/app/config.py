import os


def load_config():
    url = os.getenv("REDIS_URL")
    if url is None:
        raise ValueError("Missing required environment variable: REDIS_URL")
    return {"REDIS_URL": url}
