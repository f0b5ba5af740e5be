def init_app(app):
    @app.errorhandler(404)
    def not_found(error):
        return "not found", 404
