#!/usr/bin/env bash
# Install (Debian) and start a local PostGIS for the test suite; print the URL to use.
# Needs root. Idempotent: safe to run again. Used by .ci/run; developers may run it too.
set -euo pipefail

DB=${CAREMAP_PG_DB:-caremap_test}
USER_NAME=${CAREMAP_PG_USER:-caremap}
PASSWORD=${CAREMAP_PG_PASSWORD:-caremap}
PG_VERSION=${PG_VERSION:-15}

if ! dpkg -s "postgresql-${PG_VERSION}-postgis-3" >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql "postgresql-${PG_VERSION}-postgis-3" "postgresql-${PG_VERSION}-postgis-3-scripts" >/dev/null
fi
pg_ctlcluster "$PG_VERSION" main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
pg_isready -h 127.0.0.1 >/dev/null

psql_admin() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '${USER_NAME}'")" ]; then
  psql_admin -c "CREATE ROLE ${USER_NAME} LOGIN PASSWORD '${PASSWORD}' CREATEDB"
fi
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '${DB}'")" ]; then
  psql_admin -c "CREATE DATABASE ${DB} OWNER ${USER_NAME}"
fi
psql_admin -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS postgis"
echo "postgresql+psycopg://${USER_NAME}:${PASSWORD}@127.0.0.1:5432/${DB}"
