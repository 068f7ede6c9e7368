// Starts the real engines once for the whole test run (see vitest.config.ts).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureSparkInstalled, startSparkConnect } from '../infra/spark/index.ts';
import { ensureBucket, ensureS3ProxyInstalled, startS3Proxy, type S3Endpoint } from '../infra/s3/index.ts';
import { ensureNeo4jInstalled, startNeo4j } from '../infra/neo4j/index.ts';
import { ensureAirflowInstalled, startAirflow } from '../infra/airflow/index.ts';
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
  // The lake's object store: S3Proxy with keys of its own unless S3_ENDPOINT (and its keys) name a store.
  if (!env.S3_ENDPOINT) {
    await ensureS3ProxyInstalled(log);
    log('starting S3Proxy');
    const s3proxy = await startS3Proxy({ port: await freePort(), dataDir: path.join(dir, 's3'), log });
    stops.push(s3proxy.stop);
    env.S3_ENDPOINT = s3proxy.endpoint;
    env.S3_REGION = s3proxy.region;
    env.S3_ACCESS_KEY_ID = s3proxy.accessKeyId;
    env.S3_SECRET_ACCESS_KEY = s3proxy.secretAccessKey;
  }
  env.LAKE_BUCKET ??= 'datapilot-test-lake';
  const s3: S3Endpoint = {
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION ?? 'us-east-1',
    accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
  };
  await ensureBucket(s3, env.LAKE_BUCKET);
  if (!env.SPARK_REMOTE) {
    await ensureSparkInstalled(log);
    log('starting Spark Connect');
    const spark = await startSparkConnect({ port: await freePort(), s3, log });
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
  // Airflow with the real ingest DAG (orchestration/dags); its task processes reach the engines above.
  if (!env.AIRFLOW_URL) {
    await ensureAirflowInstalled(log);
    log('starting Airflow');
    const airflow = await startAirflow({
      databaseUrl: env.DATABASE_URL!,
      port: await freePort(),
      stateDir: path.join(dir, 'airflow'),
      logsDir: path.join(dir, 'airflow-logs'),
      env: {
        SPARK_REMOTE: env.SPARK_REMOTE!,
        S3_ENDPOINT: env.S3_ENDPOINT!,
        S3_REGION: env.S3_REGION ?? 'us-east-1',
        S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID!,
        S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY!,
        LAKE_BUCKET: env.LAKE_BUCKET!,
        NEO4J_URI: env.NEO4J_URI!,
        NEO4J_USER: env.NEO4J_USER ?? 'neo4j',
        NEO4J_PASSWORD: env.NEO4J_PASSWORD!,
      },
      log,
    });
    stops.push(airflow.stop);
    env.AIRFLOW_URL = airflow.url;
    env.AIRFLOW_USERNAME = airflow.username;
    env.AIRFLOW_PASSWORD = airflow.password;
  }
  return async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
}
