class Settings:
    project_name = "shop"


settings = Settings()
