# Production image for the api, worker and (later) voice services; see docker-compose.yml.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DO_NOT_TRACK=true \
    UV_PROJECT_ENVIRONMENT=/app/.venv UV_COMPILE_BYTECODE=1
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project
COPY . .
RUN uv sync --frozen && useradd --create-home omnifin && chown -R omnifin /app
USER omnifin
ENV PATH=/app/.venv/bin:$PATH OMNIFIN_ENVIRONMENT=production OMNIFIN_STATE_DIR=/app/var
EXPOSE 8000
CMD ["omnifin", "serve", "--host", "0.0.0.0", "--no-worker"]
