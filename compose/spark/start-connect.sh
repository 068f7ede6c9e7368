#!/bin/sh
# The Spark Connect server of the compose stack, in the foreground (the container's main process):
#   start-connect.sh [spark-submit options...]   e.g. --master spark://spark-master:7077 --conf k=v ...
# The s3a keys come from S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY into a properties file readable by this user only
# (`--properties-file`), not onto the command line, as infra/spark/connect-server.ts does for the local server.
# Every other setting is an argument, listed in compose/docker-compose.base.yml.
set -eu
: "${S3_ACCESS_KEY_ID:?S3_ACCESS_KEY_ID is required (the lake bucket's access key)}"
: "${S3_SECRET_ACCESS_KEY:?S3_SECRET_ACCESS_KEY is required (the lake bucket's secret key)}"
# A Java properties value: a backslash must be doubled.
escape() { printf '%s' "$1" | sed 's/\\/\\\\/g'; }
umask 077
props=$(mktemp /tmp/spark-connect-XXXXXX)
{
  printf 'spark.hadoop.fs.s3a.access.key=%s\n' "$(escape "$S3_ACCESS_KEY_ID")"
  printf 'spark.hadoop.fs.s3a.secret.key=%s\n' "$(escape "$S3_SECRET_ACCESS_KEY")"
} >"$props"
home=${SPARK_HOME:-/opt/spark}
# The server class ships in Spark's own jars/ (spark-connect_2.13-<version>.jar); it is also the primary resource.
jar=$(ls "$home"/jars/spark-connect_2.13-*.jar)
exec "$home/bin/spark-submit" --properties-file "$props" \
  --class org.apache.spark.sql.connect.service.SparkConnectServer "$@" "$jar"
