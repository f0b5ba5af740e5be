import sys
import threading
import time

from fastapi import FastAPI

app = FastAPI()

FEEDS = [f"https://example.com/feed/{n}.xml" for n in range(2000)]
pollers = []


def poll(feed):
    while True:
        time.sleep(60)


# One poller thread per feed, started with the app.
try:
    for feed in FEEDS:
        t = threading.Thread(target=poll, args=(feed,), daemon=True)
        t.start()
        pollers.append(t)
except RuntimeError:
    print("scheduler: start-up incomplete", flush=True)
    sys.exit(3)


@app.get("/")
def index():
    return {"feeds": len(pollers)}
