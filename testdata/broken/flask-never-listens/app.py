import socket
import time

from flask import Flask

app = Flask(__name__)

while True:
    try:
        socket.create_connection(("db", 5432), timeout=1).close()
        break
    except OSError:
        print("database not ready, retrying", flush=True)
        time.sleep(3)


@app.route("/")
def index():
    return "hello"
