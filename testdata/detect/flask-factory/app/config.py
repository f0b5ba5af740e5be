class Config:
    SQLALCHEMY_DATABASE_URI = "sqlite:///app.db"
