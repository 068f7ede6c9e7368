#!/bin/sh
# Usage: add-jars.sh RESOLVED_DIR SPARK_JARS_DIR
# Copies into SPARK_JARS_DIR the jars of RESOLVED_DIR (what `mvn dependency:copy-dependencies` resolved from
# infra/spark/pom.xml: Delta, hadoop-aws and the AWS SDK v2 modules) whose Maven artifact is NOT already there:
# Spark brings its own Hadoop, Parquet, Jackson, Netty, Scala, log4j..., and a second copy of one in another
# version would clash. The artifact of `delta-spark_4.1_2.13-4.4.0.jar` is `delta-spark_4.1_2.13`, of
# `zstd-jni-1.5.7-3.jar` `zstd-jni`: the name before the first `-<digit>`. Same rule as infra/spark/paths.ts
# `deltaJarsToPass` (local Spark); this is its copy for the image build, where no Node runs.
# Fails (exit 1) when hadoop-aws is missing or is not exactly the version of Spark's `hadoop-client-api`: s3a calls
# Hadoop internals that change between releases.
set -eu
resolved=$1
jars=$2
artifact() { sed -E 's/-[0-9][^/]*\.jar$//'; }

hadoop_aws=$(ls "$resolved" | sed -n -E 's/^hadoop-aws-([0-9][^/]*)\.jar$/\1/p')
hadoop=$(ls "$jars" | sed -n -E 's/^hadoop-client-api-([0-9][^/]*)\.jar$/\1/p')
if [ -z "$hadoop_aws" ] || [ "$hadoop_aws" != "$hadoop" ]; then
  echo "hadoop-aws ${hadoop_aws:-(none)} in $resolved does not match the Hadoop ${hadoop:-(none)} of $jars;" \
    "set <hadoop.version>${hadoop:-?}</hadoop.version> in infra/spark/pom.xml" >&2
  exit 1
fi
bundled=$(ls "$jars" | grep '\.jar$' | artifact)
added=0
for path in "$resolved"/*.jar; do
  name=$(basename "$path")
  if printf '%s\n' "$bundled" | grep -qxF "$(printf '%s\n' "$name" | artifact)"; then continue; fi
  cp "$path" "$jars/"
  echo "added $name"
  added=$((added + 1))
done
echo "$added jars added to $jars (Spark's Hadoop $hadoop)"
