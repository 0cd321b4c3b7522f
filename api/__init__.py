"""The HTTP API: FastAPI app factory, lifespan, dependencies, error handling and thin routes."""
