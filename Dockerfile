# caremap's web app and ETL in one image. docker-compose.yml runs it twice: `caremap etl run`
# once (loads the bundled data into PostGIS), then `caremap serve` (granian; the default command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PROJ_NETWORK=OFF

RUN groupadd --system caremap \
 && useradd --system --gid caremap --home-dir /app --no-create-home --shell /usr/sbin/nologin caremap

WORKDIR /app

# Dependencies first, in a layer of their own, so that a change to the code does not reinstall
# them: the runtime lock (`make lock`), the versions `make test` tests, checked against their hashes.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt

COPY . .
# Editable install, on purpose: caremap.settings.PROJECT_ROOT is found relative to the package,
# and with `pip install -e` it is /app, the same tree that `make test` tests. The bundled data
# (/app/data), the Alembic migrations, the templates and the vendored browser assets are then
# used in place, and nothing depends on package-data globs being complete, as a copy into
# site-packages would. CAREMAP_DATA_DIR and CAREMAP_INSTANCE_DIR are still set explicitly
# below, so the image does not rely on that lookup either.
RUN pip install --no-cache-dir --no-deps -e . \
 && pip check \
 && mkdir -p /app/instance \
 && chown caremap:caremap /app/instance

ENV CAREMAP_DATA_DIR=/app/data \
    CAREMAP_INSTANCE_DIR=/app/instance

# The code is owned by root and read-only for the app; only /app/instance is writable.
USER caremap
EXPOSE 8000
CMD ["caremap", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "3"]
