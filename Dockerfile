# Production image for the api, worker and (later) voice services; see docker-compose.yml.

# The web app (frontend/): built here with Node, served by the API at / from frontend/dist. The
# Python image carries only the built files (no Node, no node_modules).
FROM node:22-slim AS web
WORKDIR /web
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DO_NOT_TRACK=true \
    UV_PROJECT_ENVIRONMENT=/app/.venv UV_COMPILE_BYTECODE=1
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project
COPY . .
COPY --from=web /web/dist /app/frontend/dist
RUN uv sync --frozen && useradd --create-home omnifin && chown -R omnifin /app
USER omnifin
ENV PATH=/app/.venv/bin:$PATH OMNIFIN_ENVIRONMENT=production OMNIFIN_STATE_DIR=/app/var
EXPOSE 8000
CMD ["omnifin", "serve", "--host", "0.0.0.0", "--no-worker"]
