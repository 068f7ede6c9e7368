import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import neo4j from 'neo4j-driver';
import { DEFAULT_PORTS } from '@datapilot/common';
import { ensureUser } from '@datapilot/auth';
import { ensureGraphSchema } from '@datapilot/graph';
import { ensureSparkInstalled, startSparkConnect } from '../infra/spark/index.ts';
import { ensureNeo4jInstalled, startNeo4j } from '../infra/neo4j/index.ts';
import {
  provisionRuntimeRoles,
  RUNTIME_ROLES,
  startEmbeddedPostgres,
  startSystemPostgres,
} from '../infra/postgres/index.ts';
import { ensureBucket, ensureS3ProxyInstalled, startS3Proxy, type S3Endpoint } from '../infra/s3/index.ts';
import { ensureAirflowInstalled, startAirflow } from '../infra/airflow/index.ts';
import { freePort } from '../infra/net.ts';
import { serviceEntry, spawnService, waitForReady, type Child, type Log, type Service } from './lib/processes.ts';
import { ensureBuilt } from './lib/build.ts';
import { applyDemoSemantics, DEMO_TABLES, loadDemoOrganization, signIn } from './lib/demo.ts';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The demo organization's user, from DEMO_EMAIL / DEMO_PASSWORD / DEMO_ORG_NAME with development defaults. */
export type DemoUser = { email: string; password: string; orgName: string };

/** An S3-compatible store the stack uses instead of starting S3Proxy (S3_ENDPOINT and its keys). */
export type ExternalS3 = S3Endpoint;

/** An Airflow the stack uses instead of starting one (AIRFLOW_URL, AIRFLOW_USERNAME, AIRFLOW_PASSWORD). */
export type ExternalAirflow = { url: string; username: string; password: string };

/**
 * Memory caps of the engines `npm start` embeds, so that the whole stack stays under 4.5 GB RSS (issue 9; measured
 * by scripts/lib/memory.ts, printed once the stack is up):
 * - Spark Connect's driver heap (`--driver-memory`; 2g by default in infra/spark): 1g. The JVM adds about 0.5 GB
 *   off the heap (metaspace, code, Netty and Arrow buffers); with 2g the driver reached 2.6 GB RSS after the
 *   benchmarks' flights-3m work, the largest part of the stack.
 * - Neo4j's heap: 256 MiB (512 by default in infra/neo4j): the semantic layer and lineage graphs are small.
 * - Airflow's `[core] parallelism` (LocalExecutor workers, each a forked Python of about 130 MiB RSS): 2 (4 by
 *   default in infra/airflow); DAG tasks wait on the one Spark server of a 2-core machine anyway.
 */
export const EMBEDDED_ENGINE_MEMORY = { sparkDriverMemory: '1g', neo4jHeapMb: 256, airflowParallelism: 2 };

/** Options of {@link startStack}. Every address left unset is started here, embedded. */
export type StackOptions = {
  /** Folder for data and logs (default `<repo>/.local`). */
  stateDir: string;
  /** Use free ports instead of the fixed defaults (tests). */
  freePorts?: boolean;
  /** Ports to use instead of the defaults ({@link DEFAULT_PORTS}), by service. */
  ports?: Partial<Record<keyof typeof DEFAULT_PORTS, number>>;
  /** PostgreSQL: an existing server's URL; unset → start one (`postgres` picks embedded or Debian's). */
  databaseUrl?: string;
  postgres?: 'embedded' | 'system';
  /** Spark Connect address (`sc://host:port`); unset → start a local server (with the store's s3a settings). */
  sparkRemote?: string;
  /** Neo4j Bolt URI; unset → start the local Neo4j 5.26 server. */
  neo4jUri?: string;
  neo4jUser?: string;
  neo4jPassword?: string;
  /** The lake's object store; unset → start S3Proxy with credentials kept in `<stateDir>/data/s3-credentials.json`. */
  s3?: ExternalS3;
  /** The lake's bucket (default `datapilot-lake`); created when missing. */
  bucket?: string;
  /** Endpoint clients reach for presigned upload URLs (default: the store's own endpoint). */
  s3PublicEndpoint?: string;
  /** Airflow; unset → start Airflow 3 with its metadata in the stack's PostgreSQL. */
  airflow?: ExternalAirflow;
  demo: DemoUser;
  /** Load the demo organization's tables (default true); a test that needs none of them skips its Airflow runs. */
  loadDemoTables?: boolean;
  /** The embedded engines' memory caps (default {@link EMBEDDED_ENGINE_MEMORY}). */
  engineMemory?: Partial<typeof EMBEDDED_ENGINE_MEMORY>;
  /**
   * Build the services before starting them when a source changed (default true: they run compiled,
   * `dist/<service>/main.js`); false runs whatever {@link serviceEntry} finds (a stale or missing build → TypeScript).
   */
  build?: boolean;
  log: Log;
};

/** A running stack; `stop()` ends every child and service it started, in reverse order. */
export type Stack = {
  gatewayUrl: string;
  urls: Record<'auth' | 'chat' | 'lake' | 'graph', string>;
  databaseUrl: string;
  sparkRemote: string;
  neo4jUri: string;
  s3: S3Endpoint & { bucket: string };
  airflow: ExternalAirflow;
  demo: DemoUser & { orgId: string; userId: string; tables: number };
  /** Stops one service process (e.g. to test how the others behave without it). */
  stopService(name: 'auth' | 'chat' | 'lake' | 'graph' | 'gateway'): Promise<void>;
  /** Stops the embedded Airflow (e.g. to test how runs behave without it); no-op for an external one. */
  stopAirflow(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Starts DataPilot: PostgreSQL, S3Proxy (the lake's object store), Spark Connect (Delta over s3a), Neo4j and
 * Airflow 3 (each only when its address is unset), the four subgraphs and the gateway as separate processes, and
 * loads the demo organization through the public API on first start: the demo user uploads each vega-datasets file
 * (createUpload, PUT, completeUpload) and one `datapilot_ingest` DAG run per table writes its gold Delta table and
 * catalog entry. Steps print progress through `opts.log`.
 * @throws Error naming the step that failed and what is missing; everything started so far is stopped.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  const log = opts.log;
  try {
    const dataDir = path.join(opts.stateDir, 'data');
    const logDir = path.join(opts.stateDir, 'logs');
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    const port = async (name: keyof typeof DEFAULT_PORTS) =>
      opts.freePorts ? freePort() : (opts.ports?.[name] ?? DEFAULT_PORTS[name]);

    // 0. The services run compiled (dist/<service>/main.js, `npm run build`): built first, when a source changed,
    //    so that a compile error stops the start before any engine runs.
    if (opts.build !== false) await ensureBuilt(log);

    // 1. Engines (installed on first use; each install step prints its own progress).
    if (!opts.sparkRemote) await ensureSparkInstalled(log);
    if (!opts.neo4jUri) await ensureNeo4jInstalled(log);
    if (!opts.s3) await ensureS3ProxyInstalled(log);
    if (!opts.airflow) await ensureAirflowInstalled(log);

    let databaseUrl = opts.databaseUrl;
    if (!databaseUrl) {
      const start = opts.postgres === 'system' ? startSystemPostgres : startEmbeddedPostgres;
      log(`starting PostgreSQL (${opts.postgres ?? 'embedded'})`);
      // The server's own lines (initdb, checkpoints) go to a file; the launcher's progress lines to the console.
      const pgLogFile = path.join(logDir, 'postgres.log');
      const pgLog = (line: string) => {
        appendFileSync(pgLogFile, line + '\n');
        if (/^(initialising PostgreSQL|(embedded )?PostgreSQL \d+ ready)/.test(line)) log(line);
      };
      const pgSrv = await start({
        port: await port('postgres'),
        dataDir: path.join(dataDir, 'postgres'),
        log: pgLog,
      });
      stops.push(pgSrv.stop);
      databaseUrl = pgSrv.url;
    }
    // The services' runtime roles (LOGIN, a password derived from the owner's: nothing to store). Each service runs
    // its migrations over the owner's URL and its requests as its own role, which row-level security binds.
    const roleUrls = await provisionRuntimeRoles(databaseUrl, Object.values(RUNTIME_ROLES));
    const dbEnv = (role: string) => ({ DATABASE_URL: roleUrls[role]!, DATABASE_MIGRATION_URL: databaseUrl });

    let s3 = opts.s3;
    if (!s3) {
      log('starting S3Proxy (the lake’s object store)');
      const proxy = await startS3Proxy({
        port: await port('s3'),
        dataDir: path.join(dataDir, 's3'),
        credentialsFile: path.join(dataDir, 's3-credentials.json'),
        log,
      });
      stops.push(proxy.stop);
      s3 = proxy;
    }
    const bucket = opts.bucket ?? 'datapilot-lake';
    if (await ensureBucket(s3, bucket)) log(`created bucket ${bucket}`);

    let sparkRemote = opts.sparkRemote;
    if (!sparkRemote) {
      log('starting Spark Connect (local[*], Delta over s3a)');
      const spark = await startSparkConnect({
        port: await port('sparkConnect'),
        s3,
        log,
        driverMemory: opts.engineMemory?.sparkDriverMemory ?? EMBEDDED_ENGINE_MEMORY.sparkDriverMemory,
      });
      stops.push(spark.stop);
      sparkRemote = spark.remote;
    }

    const neo4jPassword = opts.neo4jPassword ?? 'datapilot-dev';
    const neo4jUser = opts.neo4jUser ?? 'neo4j';
    let neo4jUri = opts.neo4jUri;
    if (!neo4jUri) {
      log('starting Neo4j 5.26 (Community, APOC core)');
      const n = await startNeo4j({
        port: await port('neo4jBolt'),
        dataDir: path.join(dataDir, 'neo4j'),
        password: neo4jPassword,
        heapMb: opts.engineMemory?.neo4jHeapMb ?? EMBEDDED_ENGINE_MEMORY.neo4jHeapMb,
        log,
      });
      stops.push(n.stop);
      neo4jUri = n.uri;
    }
    const driver = neo4j.driver(neo4jUri, neo4j.auth.basic(neo4jUser, neo4jPassword));
    try {
      await ensureGraphSchema(driver);
    } finally {
      await driver.close();
    }

    const lakeEnv = {
      SPARK_REMOTE: sparkRemote,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      LAKE_BUCKET: bucket,
      NEO4J_URI: neo4jUri,
      NEO4J_USER: neo4jUser,
      NEO4J_PASSWORD: neo4jPassword,
    };
    let airflow = opts.airflow;
    let stopAirflow = async () => undefined as void;
    if (!airflow) {
      log('starting Airflow 3 (api-server, scheduler, dag-processor; LocalExecutor)');
      const af = await startAirflow({
        databaseUrl,
        port: await port('airflow'),
        stateDir: path.join(opts.stateDir, 'airflow'),
        logsDir: logDir,
        env: lakeEnv,
        parallelism: opts.engineMemory?.airflowParallelism ?? EMBEDDED_ENGINE_MEMORY.airflowParallelism,
        log,
      });
      stops.push(af.stop);
      stopAirflow = af.stop;
      airflow = { url: af.url, username: af.username, password: af.password };
      const mem = await af.memory().catch(() => undefined);
      if (mem) log(`Airflow uses ${(mem.pssBytes / 2 ** 20).toFixed(0)} MiB (PSS, ${mem.processes} processes)`);
    }

    // 2. Subgraphs, each a process of its own.
    const ports = {
      auth: await port('auth'),
      chat: await port('chat'),
      lake: await port('lake'),
      graph: await port('graph'),
      gateway: await port('gateway'),
    };
    const base = (p: number) => `http://127.0.0.1:${p}`;
    const env: Record<string, string> = {
      ...lakeEnv,
      ...(opts.s3PublicEndpoint ? { S3_PUBLIC_ENDPOINT: opts.s3PublicEndpoint } : {}),
      AIRFLOW_URL: airflow.url,
      AIRFLOW_USERNAME: airflow.username,
      AIRFLOW_PASSWORD: airflow.password,
      AUTH_JWKS_URL: `${base(ports.auth)}/.well-known/jwks.json`,
      AUTH_PORT: String(ports.auth),
      CHAT_PORT: String(ports.chat),
      LAKE_PORT: String(ports.lake),
      GRAPH_PORT: String(ports.graph),
      GATEWAY_PORT: String(ports.gateway),
      AUTH_URL: `${base(ports.auth)}/graphql`,
      CHAT_URL: `${base(ports.chat)}/graphql`,
      CHAT_WS_URL: `ws://127.0.0.1:${ports.chat}/graphql`,
      LAKE_URL: `${base(ports.lake)}/graphql`,
      LAKE_WS_URL: `ws://127.0.0.1:${ports.lake}/graphql`,
      GRAPH_URL: `${base(ports.graph)}/graphql`,
    };
    const children: Child[] = [];
    const spawnOne = async (name: Service, p: number, own: Record<string, string> = {}) => {
      const entry = serviceEntry(name);
      log(`starting ${name} on :${p} (${path.relative(REPO_ROOT, entry)})`);
      const c = await spawnService({ name, entry, env: { ...env, ...own }, port: p, logDir, cwd: REPO_ROOT, log });
      children.push(c);
      stops.push(c.stop);
    };
    await spawnOne('auth', ports.auth, dbEnv(RUNTIME_ROLES.auth));
    await Promise.all([
      spawnOne('lake', ports.lake, dbEnv(RUNTIME_ROLES.lake)),
      spawnOne('graph', ports.graph),
      spawnOne('chat', ports.chat, dbEnv(RUNTIME_ROLES.chat)),
    ]);
    await spawnOne('gateway', ports.gateway);
    // Ready means every subgraph and each of their stores answers (the gateway's /ready asks them all).
    await waitForReady('the gateway', base(ports.gateway), 120_000, log);
    log('every service is ready');

    // 3. The demo organization: its user, then its tables through the public API, once.
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    let demo;
    try {
      demo = await ensureUser(pool, opts.demo);
    } finally {
      await pool.end();
    }
    const graphqlUrl = `${base(ports.gateway)}/graphql`;
    let loaded: Awaited<ReturnType<typeof loadDemoOrganization>> = [];
    if (opts.loadDemoTables !== false) {
      const token = await signIn(graphqlUrl, opts.demo.email, opts.demo.password);
      loaded = await loadDemoOrganization({
        graphqlUrl,
        token,
        dataDir: path.join(REPO_ROOT, 'node_modules', 'vega-datasets', 'data'),
        log,
      });
      if (!loaded.length) log(`demo organization already loaded (${DEMO_TABLES.length} tables)`);
      else {
        log(`demo organization loaded: ${loaded.length} tables`);
        const described = await applyDemoSemantics({ graphqlUrl, token, tables: loaded.map((l) => l.table), log });
        log(`demo organization described in its semantic layer: ${described} columns`);
      }
    }

    return {
      gatewayUrl: base(ports.gateway),
      urls: { auth: base(ports.auth), chat: base(ports.chat), lake: base(ports.lake), graph: base(ports.graph) },
      databaseUrl,
      sparkRemote,
      neo4jUri,
      s3: { ...s3, bucket },
      airflow,
      demo: { ...opts.demo, orgId: demo.orgId, userId: demo.userId, tables: loaded.length },
      stopService: async (name) => {
        await children.find((c) => c.name === name)?.stop();
      },
      stopAirflow,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
