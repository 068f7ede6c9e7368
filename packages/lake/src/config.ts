import { fileURLToPath } from 'node:url';
import { int, str, type Logger } from '@datapilot/common';
import { createSparkConnectClient, type SparkConnectClient } from './spark-connect.ts';
import { createLake, type Lake } from './org-lake.ts';

/** Default lake root of the embedded stack: `<repo>/.local/data/lake`. */
export const DEFAULT_LAKE_ROOT = fileURLToPath(new URL('../../../.local/data/lake', import.meta.url));

/**
 * The environment variables of every service that reads the lake (lake and chat subgraphs), for
 * `loadConfig({ ...LAKE_CONFIG, ... })` in an entry point.
 */
export const LAKE_CONFIG = {
  SPARK_REMOTE: str('Spark Connect connection string, sc://host:port[/;token=...]', 'sc://127.0.0.1:15002'),
  LAKE_ROOT: str('absolute path of the lake root as the Spark server sees it', DEFAULT_LAKE_ROOT),
  LAKE_QUERY_TIMEOUT_MS: int('deadline of one Spark statement, in milliseconds', 30_000, 1_000, 600_000),
};

/** Creates the Spark Connect client and the org-scoped lake from {@link LAKE_CONFIG} values. */
export function createLakeFromConfig(
  config: { SPARK_REMOTE: string; LAKE_ROOT: string; LAKE_QUERY_TIMEOUT_MS: number },
  logger: Logger,
): { spark: SparkConnectClient; lake: Lake } {
  const spark = createSparkConnectClient({ remote: config.SPARK_REMOTE, timeoutMs: config.LAKE_QUERY_TIMEOUT_MS });
  return { spark, lake: createLake({ spark, lakeRoot: config.LAKE_ROOT, logger }) };
}
