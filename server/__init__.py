"""The application assembly: create_app(settings), lifespan, middleware, CLI and migrations."""
