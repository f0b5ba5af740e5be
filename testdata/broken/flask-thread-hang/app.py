import threading
import time

from flask import Flask

app = Flask(__name__)

workers = []


def consume(queue_name):
    while True:
        time.sleep(60)


# A consumer thread per queue partition; keep going with what started.
for n in range(1000):
    try:
        t = threading.Thread(target=consume, args=(f"orders-{n}",), daemon=True)
        t.start()
        workers.append(t)
    except RuntimeError:
        print(f"consumers: {len(workers)} running, waiting for the rest", flush=True)
        while True:
            time.sleep(1)


@app.route("/")
def index():
    return {"consumers": len(workers)}
