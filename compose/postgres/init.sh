#!/bin/sh
# Run once by the postgres image on an empty cluster (/docker-entrypoint-initdb.d/), as POSTGRES_USER:
# the DataPilot role and database (the subgraphs' schemas auth, chat and lake live there; each subgraph migrates its
# own) and Airflow's role and database (its metadata), each database owned by its role, so neither role needs
# more than that. Passwords from DATAPILOT_DB_PASSWORD and AIRFLOW_DB_PASSWORD; psql quotes them (:'var').
# The subgraphs' runtime roles datapilot_auth, datapilot_chat and datapilot_lake (passwords from
# DATAPILOT_AUTH_DB_PASSWORD, DATAPILOT_CHAT_DB_PASSWORD, DATAPILOT_LAKE_DB_PASSWORD): each subgraph serves its
# requests as its own, which owns nothing, so the row-level security policies its migrations create bind it; the
# migrations (run as `datapilot`, DATABASE_MIGRATION_URL) grant each role what its subgraph needs.
# Changing a password later: ALTER ROLE ... PASSWORD, this script does not run again (on a cluster made before the
# runtime roles existed, create them with the three CREATE ROLE lines below, as the superuser).
set -eu
: "${DATAPILOT_DB_PASSWORD:?DATAPILOT_DB_PASSWORD is required}"
: "${DATAPILOT_AUTH_DB_PASSWORD:?DATAPILOT_AUTH_DB_PASSWORD is required}"
: "${DATAPILOT_CHAT_DB_PASSWORD:?DATAPILOT_CHAT_DB_PASSWORD is required}"
: "${DATAPILOT_LAKE_DB_PASSWORD:?DATAPILOT_LAKE_DB_PASSWORD is required}"
: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is required}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v datapilot_password="$DATAPILOT_DB_PASSWORD" -v airflow_password="$AIRFLOW_DB_PASSWORD" \
  -v datapilot_auth_password="$DATAPILOT_AUTH_DB_PASSWORD" \
  -v datapilot_chat_password="$DATAPILOT_CHAT_DB_PASSWORD" \
  -v datapilot_lake_password="$DATAPILOT_LAKE_DB_PASSWORD" <<'SQL'
CREATE ROLE datapilot LOGIN PASSWORD :'datapilot_password';
CREATE DATABASE datapilot OWNER datapilot;
CREATE ROLE datapilot_auth LOGIN PASSWORD :'datapilot_auth_password';
CREATE ROLE datapilot_chat LOGIN PASSWORD :'datapilot_chat_password';
CREATE ROLE datapilot_lake LOGIN PASSWORD :'datapilot_lake_password';
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
SQL
echo "created roles datapilot, datapilot_auth, datapilot_chat, datapilot_lake, airflow; databases datapilot, airflow"
