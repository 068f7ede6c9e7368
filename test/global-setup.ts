// Starts the real engines once for the whole test run (see vitest.config.ts).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureSparkInstalled, startSparkConnect } from '../infra/spark/index.ts';
import { ensureNeo4jInstalled, startNeo4j } from '../infra/neo4j/index.ts';
import { startSystemPostgres } from '../infra/postgres/index.ts';
import { freePort } from '../infra/net.ts';

const log = (msg: string) => process.stderr.write(`[test-setup] ${msg}\n`);

export default async function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'datapilot-test-'));
  // PostgreSQL runs as the `postgres` user, which must be able to enter this folder.
  chmodSync(dir, 0o711);
  const stops: Array<() => Promise<void>> = [];
  const env = process.env;
  if (!env.DATABASE_URL) {
    log('starting PostgreSQL from Debian packages');
    const pg = await startSystemPostgres({ port: await freePort(), dataDir: path.join(dir, 'postgres'), log });
    stops.push(pg.stop);
    env.DATABASE_URL = pg.url;
  }
  if (!env.LAKE_ROOT) env.LAKE_ROOT = path.join(dir, 'lake');
  if (!env.SPARK_REMOTE) {
    await ensureSparkInstalled(log);
    log('starting Spark Connect');
    const spark = await startSparkConnect({ port: await freePort(), lakeRoot: env.LAKE_ROOT, log });
    stops.push(spark.stop);
    env.SPARK_REMOTE = spark.remote;
  }
  if (!env.NEO4J_URI) {
    await ensureNeo4jInstalled(log);
    log('starting Neo4j');
    const password = env.NEO4J_PASSWORD ?? 'datapilot-test';
    const neo = await startNeo4j({ port: await freePort(), dataDir: path.join(dir, 'neo4j'), password, log });
    stops.push(neo.stop);
    env.NEO4J_URI = neo.uri;
    env.NEO4J_PASSWORD = password;
  }
  return async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
}
