from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

app = FastAPI()


@app.api_route("/echo", methods=["GET", "POST"])
async def echo(request: Request):
    """Echo the request back."""
    return {"method": request.method}


@app.api_route("/legacy")
async def legacy():
    return {}


@app.head("/status")
async def status_head(response: Response):
    response.headers["X-Status"] = "ok"


@app.options("/status")
async def status_options():
    return JSONResponse({}, headers={"Allow": "GET, HEAD, OPTIONS"})


@app.get("/status", summary="Service status", description="Reports whether the service is up.", tags=["ops"])
async def status():
    """Ignored: the decorator's summary wins."""
    return {"up": True}


def metrics():
    """Prometheus-style metrics."""
    return Response("up 1\n", media_type="text/plain")


app.add_api_route("/metrics", metrics, methods=["GET"])
app.add_api_route("/reset", lambda: {"reset": True}, methods=["POST", "DELETE"])
