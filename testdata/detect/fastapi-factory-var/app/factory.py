from fastapi import FastAPI


def create_app(debug: bool = False) -> FastAPI:
    application = FastAPI(debug=debug)
    return application
