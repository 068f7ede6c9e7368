#!/bin/sh
# Run once by the postgres image on an empty cluster (/docker-entrypoint-initdb.d/), as POSTGRES_USER:
# the DataPilot role and database (the subgraphs' schemas auth, chat and lake live there; each subgraph migrates its
# own) and Airflow's role and database (its metadata), each database owned by its role, so neither role needs
# more than that. Passwords from DATAPILOT_DB_PASSWORD and AIRFLOW_DB_PASSWORD; psql quotes them (:'var').
# Changing a password later: ALTER ROLE ... PASSWORD, this script does not run again.
set -eu
: "${DATAPILOT_DB_PASSWORD:?DATAPILOT_DB_PASSWORD is required}"
: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is required}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v datapilot_password="$DATAPILOT_DB_PASSWORD" -v airflow_password="$AIRFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE datapilot LOGIN PASSWORD :'datapilot_password';
CREATE DATABASE datapilot OWNER datapilot;
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
SQL
echo "created roles and databases datapilot and airflow"
