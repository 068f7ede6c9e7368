import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import neo4j from 'neo4j-driver';
import { DEFAULT_PORTS } from '@datapilot/common';
import { ensureUser } from '@datapilot/auth';
import { ensureGraphSchema, upsertDatasets } from '@datapilot/graph';
import { ensureSparkInstalled, startSparkConnect } from '../infra/spark/index.ts';
import { runDemoPipeline } from '../infra/spark/pipeline.ts';
import { ensureNeo4jInstalled, startNeo4j } from '../infra/neo4j/index.ts';
import { startEmbeddedPostgres, startSystemPostgres } from '../infra/postgres/index.ts';
import { freePort } from '../infra/net.ts';
import { spawnService, type Child, type Log } from './lib/processes.ts';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The demo organization's user, from DEMO_EMAIL / DEMO_PASSWORD / DEMO_ORG_NAME with development defaults. */
export type DemoUser = { email: string; password: string; orgName: string };

/** Options of {@link startStack}. Every address left unset is started here, embedded. */
export type StackOptions = {
  /** Folder for data and logs (default `<repo>/.local`). */
  stateDir: string;
  /** Use free ports instead of the fixed defaults (tests). */
  freePorts?: boolean;
  /** PostgreSQL: an existing server's URL; unset → start one (`postgres` picks embedded or Debian's). */
  databaseUrl?: string;
  postgres?: 'embedded' | 'system';
  /** Spark Connect address (`sc://host:port`); unset → start a local server. */
  sparkRemote?: string;
  /** Neo4j Bolt URI; unset → start the local Neo4j 5.26 server. */
  neo4jUri?: string;
  neo4jUser?: string;
  neo4jPassword?: string;
  /** Absolute lake root (default `<stateDir>/data/lake`). */
  lakeRoot?: string;
  demo: DemoUser;
  log: Log;
};

/** A running stack; `stop()` ends every child and service it started, in reverse order. */
export type Stack = {
  gatewayUrl: string;
  urls: Record<'auth' | 'chat' | 'lake' | 'graph', string>;
  databaseUrl: string;
  sparkRemote: string;
  neo4jUri: string;
  lakeRoot: string;
  demo: DemoUser & { orgId: string; userId: string; tables: number };
  /** Stops one service process (e.g. to test how the others behave without it). */
  stopService(name: 'auth' | 'chat' | 'lake' | 'graph' | 'gateway'): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Starts DataPilot: PostgreSQL, Spark Connect (with Delta), Neo4j (each only when its address is unset),
 * the four subgraphs and the gateway as separate processes, and loads the demo organization through the
 * real pipeline on first start (raw files → bronze → `bronze_to_gold.py` on Spark → Delta gold → Dataset
 * nodes in Neo4j). Steps print progress through `opts.log`.
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
    const lakeRoot = opts.lakeRoot ?? path.join(dataDir, 'lake');
    mkdirSync(lakeRoot, { recursive: true });
    const port = async (p: number) => (opts.freePorts ? freePort() : p);

    // 1. Engines (installed on first use; each install step prints its own progress).
    if (!opts.sparkRemote) await ensureSparkInstalled(log);
    if (!opts.neo4jUri) await ensureNeo4jInstalled(log);

    let databaseUrl = opts.databaseUrl;
    if (!databaseUrl) {
      const start = opts.postgres === 'system' ? startSystemPostgres : startEmbeddedPostgres;
      log(`starting PostgreSQL (${opts.postgres ?? 'embedded'})`);
      // The server's own lines (initdb, checkpoints) go to a file; the launcher's progress lines to the console.
      mkdirSync(logDir, { recursive: true });
      const pgLogFile = path.join(logDir, 'postgres.log');
      const pgLog = (line: string) => {
        appendFileSync(pgLogFile, line + '\n');
        if (/^(initialising PostgreSQL|(embedded )?PostgreSQL \d+ ready)/.test(line)) log(line);
      };
      const pgSrv = await start({
        port: await port(DEFAULT_PORTS.postgres),
        dataDir: path.join(dataDir, 'postgres'),
        log: pgLog,
      });
      stops.push(pgSrv.stop);
      databaseUrl = pgSrv.url;
    }

    let sparkRemote = opts.sparkRemote;
    if (!sparkRemote) {
      log('starting Spark Connect (local[*], Delta)');
      const spark = await startSparkConnect({ port: await port(DEFAULT_PORTS.sparkConnect), lakeRoot, log });
      stops.push(spark.stop);
      sparkRemote = spark.remote;
    }

    const neo4jPassword = opts.neo4jPassword ?? 'datapilot-dev';
    const neo4jUser = opts.neo4jUser ?? 'neo4j';
    let neo4jUri = opts.neo4jUri;
    if (!neo4jUri) {
      log('starting Neo4j 5.26 (Community, APOC core)');
      const n = await startNeo4j({
        port: await port(DEFAULT_PORTS.neo4jBolt),
        dataDir: path.join(dataDir, 'neo4j'),
        password: neo4jPassword,
        log,
      });
      stops.push(n.stop);
      neo4jUri = n.uri;
    }

    // 2. Subgraphs, each a process of its own.
    const ports = {
      auth: await port(DEFAULT_PORTS.auth),
      chat: await port(DEFAULT_PORTS.chat),
      lake: await port(DEFAULT_PORTS.lake),
      graph: await port(DEFAULT_PORTS.graph),
      gateway: await port(DEFAULT_PORTS.gateway),
    };
    const base = (p: number) => `http://127.0.0.1:${p}`;
    const env: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      SPARK_REMOTE: sparkRemote,
      LAKE_ROOT: lakeRoot,
      NEO4J_URI: neo4jUri,
      NEO4J_USER: neo4jUser,
      NEO4J_PASSWORD: neo4jPassword,
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
      GRAPH_URL: `${base(ports.graph)}/graphql`,
    };
    const children: Child[] = [];
    const spawnOne = async (name: string, entry: string, p: number) => {
      log(`starting ${name} on :${p}`);
      const c = await spawnService({ name, entry, env, port: p, logDir, cwd: REPO_ROOT });
      children.push(c);
      stops.push(c.stop);
    };
    await spawnOne('auth', 'subgraphs/auth/src/main.ts', ports.auth);
    await Promise.all([
      spawnOne('lake', 'subgraphs/lake/src/main.ts', ports.lake),
      spawnOne('graph', 'subgraphs/graph/src/main.ts', ports.graph),
      spawnOne('chat', 'subgraphs/chat/src/main.ts', ports.chat),
    ]);

    // 3. The demo organization: its user, then its gold tables through the real pipeline on first start.
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    let demo;
    try {
      demo = await ensureUser(pool, opts.demo);
    } finally {
      await pool.end();
    }
    // Written only after the pipeline and the graph update both succeeded, so a start that failed
    // half-way loads the demo organization again.
    const marker = path.join(lakeRoot, '_meta', `demo-loaded-${demo.orgId}.json`);
    const driver = neo4j.driver(neo4jUri, neo4j.auth.basic(neo4jUser, neo4jPassword));
    let tables = 0;
    try {
      await ensureGraphSchema(driver);
      if (!existsSync(marker)) {
        log('loading the demo organization: vega-datasets → bronze → bronze_to_gold.py → Delta gold');
        const results = await runDemoPipeline({
          remote: sparkRemote,
          lakeRoot,
          orgId: demo.orgId,
          dataDir: path.join(REPO_ROOT, 'node_modules', 'vega-datasets', 'data'),
          log,
        });
        await upsertDatasets(driver, demo.orgId, results.map(toDataset));
        tables = results.length;
        mkdirSync(path.dirname(marker), { recursive: true });
        writeFileSync(
          marker,
          JSON.stringify({ loadedAt: new Date().toISOString(), tables: results.map((r) => r.table) }),
        );
      } else {
        log(`demo organization already loaded (${marker})`);
      }
    } finally {
      await driver.close();
    }

    log(`starting gateway on :${ports.gateway}`);
    const gw = await spawnService({
      name: 'gateway',
      entry: 'gateway/src/main.ts',
      env,
      port: ports.gateway,
      logDir,
      cwd: REPO_ROOT,
    });
    stops.push(gw.stop);

    return {
      gatewayUrl: base(ports.gateway),
      urls: { auth: base(ports.auth), chat: base(ports.chat), lake: base(ports.lake), graph: base(ports.graph) },
      databaseUrl,
      sparkRemote,
      neo4jUri,
      lakeRoot,
      demo: { ...opts.demo, orgId: demo.orgId, userId: demo.userId, tables },
      stopService: async (name) => {
        await [...children, gw].find((c) => c.name === name)?.stop();
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** The pipeline's per-table result as the graph subgraph's Dataset. */
function toDataset(r: {
  table: string;
  rows: number;
  version: number;
  columns: { name: string; type: string; nullable: boolean }[];
}) {
  return { name: r.table, rowCount: r.rows, deltaVersion: r.version, columns: r.columns };
}
