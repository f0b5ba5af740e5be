from pydantic import BaseSettings


class Settings(BaseSettings):
    name: str = "api"
