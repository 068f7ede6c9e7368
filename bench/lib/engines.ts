/**
 * The engines a benchmark needs (PostgreSQL, the S3 store, Spark Connect, Neo4j, Airflow), from the environment or
 * started here: each address missing from the environment is started by the test harness's global setup
 * (test/global-setup.ts, the same engines `npm test` runs against), which writes its address into `process.env`.
 */
import setup from '../../test/global-setup.ts';

/** The variables that name a running engine; a benchmark's child processes get them. */
export const ENGINE_VARIABLES = [
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'LAKE_BUCKET',
  'SPARK_REMOTE',
  'NEO4J_URI',
  'NEO4J_USER',
  'NEO4J_PASSWORD',
  'AIRFLOW_URL',
  'AIRFLOW_USERNAME',
  'AIRFLOW_PASSWORD',
] as const;

/** The address variables: when one is unset, its engine is started. */
const ADDRESSES = ['DATABASE_URL', 'S3_ENDPOINT', 'SPARK_REMOTE', 'NEO4J_URI', 'AIRFLOW_URL'] as const;

/** Running engines: their variables, which of them were started here, and `stop()` for those (no-op otherwise). */
export type Engines = {
  env: Record<string, string>;
  started: string[];
  stop(): Promise<void>;
};

/**
 * Makes sure every engine runs: with DATABASE_URL, S3_ENDPOINT, SPARK_REMOTE, NEO4J_URI and AIRFLOW_URL all set,
 * nothing is started; otherwise the missing ones are started (installed on first use; 1-2 min, progress on stderr
 * as `[test-setup] …` lines) and their addresses written into `process.env`.
 * @returns the engines' variables (also in `process.env`) and `stop()`, which stops what was started here.
 * @throws Error from the engine that failed to install or start (test/global-setup.ts leaves the engines it had
 *   started before it running).
 */
export async function ensureEngines(log: (msg: string) => void = () => undefined): Promise<Engines> {
  const missing = ADDRESSES.filter((v) => !process.env[v]);
  let teardown: (() => Promise<void>) | undefined;
  if (missing.length) {
    log(`starting engines for ${missing.join(', ')} (test/global-setup.ts; 1-2 min)`);
    const t0 = Date.now();
    teardown = await setup();
    log(`engines ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } else log('engines from the environment (DATABASE_URL, S3_ENDPOINT, SPARK_REMOTE, NEO4J_URI, AIRFLOW_URL)');
  const env: Record<string, string> = {};
  for (const v of ENGINE_VARIABLES) if (process.env[v] !== undefined) env[v] = process.env[v]!;
  return {
    env,
    started: missing,
    stop: async () => {
      if (!teardown) return;
      log('stopping the engines started for the benchmarks');
      await teardown();
      teardown = undefined;
    },
  };
}

/**
 * The lake engines' variables a service started by a benchmark needs, from this process's environment (as
 * {@link ensureEngines} left it): Spark Connect, the S3 store and its keys, and the bucket `bucket`.
 */
export function lakeEngineEnv(bucket: string): Record<string, string> {
  return {
    SPARK_REMOTE: process.env.SPARK_REMOTE!,
    S3_ENDPOINT: process.env.S3_ENDPOINT!,
    S3_REGION: process.env.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID!,
    S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY!,
    LAKE_BUCKET: bucket,
  };
}
