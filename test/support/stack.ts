/**
 * A whole stack for a test file (scripts/stack.ts: the four subgraphs and the gateway as processes) on the engines
 * the test run started (test/global-setup.ts, read from the environment): a PostgreSQL database of the file's own,
 * the run's S3Proxy bucket, Spark Connect, Neo4j and Airflow. Each file gets new organizations, so files never see
 * each other's data.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startStack, type Stack, type StackOptions } from '../../scripts/stack.ts';

/**
 * Creates an empty database `<prefix>_<12 hex>` on the run's server (`DATABASE_URL`) and returns its URL.
 * @throws Error when DATABASE_URL is unset (run through vitest, whose global setup sets it).
 */
export async function createDatabase(prefix: string): Promise<string> {
  const server = process.env.DATABASE_URL;
  if (!server) throw new Error('DATABASE_URL is not set: run the tests through vitest (test/global-setup.ts)');
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by {@link createDatabase} (closing its connections). */
export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * Starts a stack on the run's engines and `databaseUrl`, with `name` in its progress lines and state folder.
 * `opts` adds to or overrides the engine settings (e.g. `demo`, `loadDemoTables: false`).
 */
export function startTestStack(
  name: string,
  databaseUrl: string,
  opts: Partial<StackOptions> & Pick<StackOptions, 'demo'>,
): Promise<Stack> {
  const env = (key: string) => {
    const v = process.env[key];
    if (!v) throw new Error(`${key} is not set: run the tests through vitest (test/global-setup.ts)`);
    return v;
  };
  return startStack({
    stateDir: mkdtempSync(path.join(tmpdir(), `datapilot-${name}-`)),
    freePorts: true,
    databaseUrl,
    sparkRemote: env('SPARK_REMOTE'),
    neo4jUri: env('NEO4J_URI'),
    neo4jPassword: env('NEO4J_PASSWORD'),
    // The run's store, bucket and Airflow (whose workers write to that bucket): organizations are new per file.
    s3: {
      endpoint: env('S3_ENDPOINT'),
      region: process.env.S3_REGION ?? 'us-east-1',
      accessKeyId: env('S3_ACCESS_KEY_ID'),
      secretAccessKey: env('S3_SECRET_ACCESS_KEY'),
    },
    bucket: env('LAKE_BUCKET'),
    airflow: { url: env('AIRFLOW_URL'), username: env('AIRFLOW_USERNAME'), password: env('AIRFLOW_PASSWORD') },
    log: (m) => process.stderr.write(`[${name}] ${m}\n`),
    ...opts,
  });
}
