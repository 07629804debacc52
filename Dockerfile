# Build stage: a virtualenv with the locked runtime dependencies, then the project, not editable.
FROM python:3.11-slim AS build
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# requirements.lock: the runtime dependencies at the versions CI tests (how to regenerate it:
# its header). Installed first and on their own, so the layer survives source changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY models ./models
COPY seed_data ./seed_data
COPY alembic ./alembic
RUN pip install --no-cache-dir --no-deps .

# Runtime stage: the virtualenv and the source, run as an unprivileged user.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 skinkb
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
RUN mkdir -p /data && chown skinkb /data
USER skinkb
# PYTHONPATH: api/migrations.py finds alembic/ beside the api package, so the code runs from
# /app (the same files the non-editable install put in site-packages, which has an unrelated
# alembic/, the library).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    SKINKB_DATABASE_URL=sqlite:////data/skinkb.db \
    SKINKB_WORKERS=2
EXPOSE 8000
# `skinkb serve` migrates to head (and seeds an empty database) before serving.
CMD ["sh", "-c", "skinkb serve --host 0.0.0.0 --port 8000 --workers ${SKINKB_WORKERS}"]
