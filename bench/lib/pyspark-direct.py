"""The engine's own floor for bench/lake.ts: statements timed in PySpark's Spark Connect client, no DataPilot.

Usage: ``python bench/lib/pyspark-direct.py <spark remote> <view name> <Delta table URI>``. Registers the table as a
temporary view, prints ``READY``, then reads one SQL statement per line on stdin and prints the milliseconds that
``spark.sql(statement).collect()`` took (the same statements the benchmark sends through DataPilot's lake).
"""

import sys
import time

from pyspark.sql import SparkSession


def main() -> None:
    remote, view, uri = sys.argv[1:4]
    spark = SparkSession.builder.remote(remote).getOrCreate()
    spark.read.format("delta").load(uri).createOrReplaceTempView(view)
    print("READY", flush=True)
    for line in sys.stdin:
        sql = line.strip()
        if not sql:
            continue
        started = time.perf_counter()
        spark.sql(sql).collect()
        print(f"{(time.perf_counter() - started) * 1000:.3f}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
