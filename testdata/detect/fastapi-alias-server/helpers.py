def example():
    """Example:

        app = FastAPI()
        app.include_router(router)
    """
    text = "app = FastAPI()"
    return text
