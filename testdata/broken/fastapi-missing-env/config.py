import os

settings = {
    "db": os.environ["DATABASE_URL"],
    "debug": os.environ.get("DEBUG", "0") == "1",
}
