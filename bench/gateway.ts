/**
 * Benchmark: DataPilot's gateway against a stock `@apollo/gateway` and Hive Gateway, side by side on the same
 * running subgraphs and the same supergraph (issue 9 §1 "Gateway", §2 first target).
 *
 * Started once: the auth, chat and graph subgraphs (each a process, `serviceEntry()` when the compiled build exists,
 * else its `src/main.ts` through tsx) on the engines of the environment (PostgreSQL, Neo4j; when unset, started by
 * bench/lib/engines.ts; a fresh database), and a
 * supergraph composed from the subgraphs' SDL (scripts/lib/subgraphs.ts) with the bench's URLs (lake gets an address
 * nothing listens on: no query here touches it). Then four gateways, each a process on that supergraph:
 *   - `datapilot`: gateway/src/main.ts (or its build) with its config env (GATEWAY_SUPERGRAPH_PATH, *_URL);
 *   - `stock`: bench/lib/stock-apollo-gateway.ts, `@apollo/gateway` + `@apollo/server` 5 forwarding Authorization;
 *   - `hive`: bench/lib/hive-gateway.ts, `@graphql-hive/gateway-runtime` with its defaults (in-flight
 *     de-duplication of identical subgraph requests on);
 *   - `hive-nodedup`: the same with de-duplication off;
 * and, for the single-subgraph query, `direct`: the auth subgraph itself (what the gateway overhead is measured
 * against).
 *
 * Data: one organization whose owner and 19 invited members each own 5 shared conversations (100 in all); the
 * queries run as the owner (its JWT from `signup`). Queries: `single` (auth only), `federated` (auth → chat and
 * graph → auth), `entities` (100 conversations from chat, each owner resolved by auth: one `_entities` fetch of 100
 * representations). Every target's answer is checked against the direct answer's data before the load, and every
 * response under load must be that exact body (else the run is broken: exit 1).
 *
 * Load: autocannon (bench/lib/load.ts) at 1 and 20 connections; rounds interleave the targets (A B C D A B C D …)
 * so that a change of the machine's load touches them alike; results pool every round. Run:
 * `source /work/dev/env.sh && npx tsx bench/gateway.ts [--quick]` (--quick or BENCH_QUICK=1: one short round, under
 * a minute; full: BENCH_ROUNDS rounds (default 3) of BENCH_SECONDS seconds (default 3) per cell, about 5 minutes).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { build } from 'esbuild';
import { startTestDatabase } from '../infra/postgres/testing.ts';
import { freePort } from '../infra/net.ts';
import { serviceEntry, spawnService, type Child } from '../scripts/lib/processes.ts';
import { REPO_ROOT } from '../scripts/stack.ts';
import { loadSubgraphDefs } from '../scripts/lib/subgraphs.ts';
import { composeSupergraph } from '../gateway/src/compose.ts';
import { AUTH_SERVICE_CONFIG } from '../subgraphs/auth/src/config.ts';
import { CHAT_SERVICE_CONFIG } from '../subgraphs/chat/src/config.ts';
import { fmt, latencyStats, markdownTable, writeResult, type LatencyStats } from './lib/report.ts';
import { runLoad } from './lib/load.ts';
import { ensureEngines } from './lib/engines.ts';
import { gql as post, type Gql } from './lib/gql.ts';
import { cpuProfileEnv } from './lib/profile.ts';

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 1 : Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = QUICK ? 1 : Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP_SECONDS = QUICK ? 0.5 : 2;
const CONNECTIONS = [1, 20] as const;
const NEEDED = ['DATABASE_URL', 'NEO4J_URI', 'NEO4J_PASSWORD'];
const MEMBERS = QUICK ? 10 : 20;
const CONVERSATIONS_PER_MEMBER = QUICK ? 10 : 5;
const PASSWORD = 'Bench-password-2026';

const QUERIES = {
  single: '{ me { user { email } organization { name } } }',
  federated:
    '{ me { user { email } organization { name datasets { name } conversations(first: 10) { edges { node { id ' +
    'title owner { email } } } } } } }',
  entities: '{ conversations(first: 100) { edges { node { id title createdAt owner { id email createdAt } } } } }',
} as const;
type QueryName = keyof typeof QUERIES;
const QUERY_SUBGRAPHS: Record<QueryName, string> = {
  single: 'auth',
  federated: 'auth, chat, graph (4 fetches)',
  entities: 'chat, auth (100 entities)',
};

/**
 * BENCH_GATEWAY_BEFORE: the entry (absolute path) of another build of DataPilot's gateway — e.g. `dist/gateway/main.js`
 * of a checkout of the previous commit — run side by side as `datapilot-before`, to measure a change in one run.
 */
const BEFORE_ENTRY = process.env.BENCH_GATEWAY_BEFORE;
const ALL_TARGETS = ['datapilot', 'datapilot-before', 'stock', 'hive', 'hive-nodedup', 'direct'] as const;
type Target = (typeof ALL_TARGETS)[number];
const TARGETS = ALL_TARGETS.filter((t) => t !== 'datapilot-before' || BEFORE_ENTRY);
const TARGET_LABEL: Record<Target, string> = {
  datapilot: 'DataPilot gateway',
  'datapilot-before': 'DataPilot gateway (BENCH_GATEWAY_BEFORE)',
  stock: 'stock @apollo/gateway',
  hive: 'Hive Gateway (dedup on, default)',
  'hive-nodedup': 'Hive Gateway (dedup off)',
  direct: 'auth subgraph directly',
};

/** a / b, or NaN when either had no response (a cell without any answer is not a ratio). */
const ratio = (a: number, b: number) => (a > 0 && b > 0 ? a / b : NaN);
const log = (msg: string) => console.error(`[bench:gateway] ${msg}`);

/** POSTs a GraphQL operation; `T` is the shape of its `data`. @throws Error on GraphQL errors. */
async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const body = await post<T>(url, query, variables, token);
  if (body.errors?.length || !body.data) throw new Error(`${url}: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/**
 * The entry to spawn for `service`: the compiled build when it is fresh, else its TypeScript source (H5's
 * `serviceEntry`, scripts/lib/processes.ts; `npm run bench` builds first). Relative to the repository root.
 */
function entryOf(service: 'auth' | 'chat' | 'graph' | 'gateway'): string {
  return path.relative(REPO_ROOT, serviceEntry(service));
}

/**
 * The baseline gateways (bench/lib/*-gateway.ts) compiled to plain ES modules under `<repo>/.local/bench/`, so that
 * they run as DataPilot's build does (`node --enable-source-maps`, no tsx): like is compared with like.
 * @returns their entries, relative to the repository root.
 */
async function compileBaselines(): Promise<{ stock: string; hive: string }> {
  const outdir = path.join(REPO_ROOT, '.local', 'bench', 'gateway-baselines');
  const entries = { stock: 'bench/lib/stock-apollo-gateway.ts', hive: 'bench/lib/hive-gateway.ts' };
  await build({
    entryPoints: Object.values(entries).map((e) => path.join(REPO_ROOT, e)),
    outdir,
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  const out = (e: string) => path.relative(REPO_ROOT, path.join(outdir, path.basename(e, '.ts') + '.mjs'));
  return { stock: out(entries.stock), hive: out(entries.hive) };
}

/** One cell's pooled measurements: every round's responses of one target, query and connection count. */
type Cell = { ok: number; seconds: number; latencies: number[]; failures: number };

async function main() {
  // Engines from the environment; any missing → started by bench/lib/engines.ts (the test harness's), stopped at the end.
  const engines = NEEDED.every((n) => process.env[n]) ? null : await ensureEngines(log);
  const started = Date.now();
  const logDir = mkdtempSync(path.join(tmpdir(), 'datapilot-bench-gateway-'));
  const children: Child[] = [];
  log(`service logs in ${logDir}`);
  const db = await startTestDatabase();
  try {
    const ports = {
      auth: await freePort(),
      chat: await freePort(),
      graph: await freePort(),
      lake: await freePort(), // nothing listens: no benchmarked query reaches the lake subgraph
      datapilot: await freePort(),
      before: await freePort(),
      stock: await freePort(),
      hive: await freePort(),
      hiveNoDedup: await freePort(),
    };
    const http = (p: number) => `http://127.0.0.1:${p}/graphql`;
    const urls = {
      auth: http(ports.auth),
      chat: http(ports.chat),
      chatWs: `ws://127.0.0.1:${ports.chat}/graphql`,
      lake: http(ports.lake),
      lakeWs: `ws://127.0.0.1:${ports.lake}/graphql`,
      graph: http(ports.graph),
    };
    const supergraphPath = path.join(logDir, 'supergraph.graphql');
    writeFileSync(supergraphPath, composeSupergraph(await loadSubgraphDefs(urls)).supergraphSdl);

    const base: Record<string, string> = {
      AUTH_JWKS_URL: `http://127.0.0.1:${ports.auth}/.well-known/jwks.json`,
      NEO4J_URI: process.env.NEO4J_URI!,
      NEO4J_USER: process.env.NEO4J_USER ?? 'neo4j',
      NEO4J_PASSWORD: process.env.NEO4J_PASSWORD!,
      LOG_LEVEL: 'warn',
    };
    const database = async (config: object, role: Parameters<typeof db.urlAs>[0]): Promise<Record<string, string>> =>
      'DATABASE_MIGRATION_URL' in config
        ? { DATABASE_URL: await db.urlAs(role), DATABASE_MIGRATION_URL: db.url }
        : { DATABASE_URL: db.url };
    const spawn = async (name: string, entry: string, port: number, env: Record<string, string>) => {
      log(`starting ${name} on :${port} (${entry})`);
      const c = await spawnService({ name, entry, env: { ...base, ...env }, port, logDir, cwd: REPO_ROOT, log });
      children.push(c);
    };
    /** Awaits every start (so that each started child is in `children` to stop), then throws the first failure. */
    const all = async (starts: Promise<void>[]) => {
      const failed = (await Promise.allSettled(starts)).find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    };
    await spawn('auth', entryOf('auth'), ports.auth, {
      ...(await database(AUTH_SERVICE_CONFIG, 'datapilot_auth')),
      AUTH_PORT: String(ports.auth),
      ACCESS_TOKEN_TTL_SECONDS: '3600',
    });
    await all([
      spawn('chat', entryOf('chat'), ports.chat, {
        ...(await database(CHAT_SERVICE_CONFIG, 'datapilot_chat')),
        CHAT_PORT: String(ports.chat),
        // Chat reads no table here; its lake settings only need to parse.
        SPARK_REMOTE: process.env.SPARK_REMOTE ?? 'sc://127.0.0.1:1',
        S3_ENDPOINT: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:1',
        S3_REGION: process.env.S3_REGION ?? 'us-east-1',
        S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID ?? 'unused',
        S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY ?? 'unused',
        LAKE_BUCKET: process.env.LAKE_BUCKET ?? 'unused',
      }),
      spawn('graph', entryOf('graph'), ports.graph, { GRAPH_PORT: String(ports.graph) }),
    ]);
    const gatewayEnv = { BENCH_SUPERGRAPH_PATH: supergraphPath };
    const baselines = await compileBaselines();
    /** DataPilot's gateway configuration (its env), listening on `port`. */
    const datapilotEnv = (port: number) => ({
      GATEWAY_PORT: String(port),
      GATEWAY_SUPERGRAPH_PATH: supergraphPath,
      GATEWAY_TRUSTED_DOCUMENTS: 'off',
      AUTH_URL: urls.auth,
      CHAT_URL: urls.chat,
      CHAT_WS_URL: urls.chatWs,
      LAKE_URL: urls.lake,
      LAKE_WS_URL: urls.lakeWs,
      GRAPH_URL: urls.graph,
    });
    await all([
      spawn('datapilot-gateway', entryOf('gateway'), ports.datapilot, {
        ...datapilotEnv(ports.datapilot),
        // BENCH_GATEWAY_CPU_PROF=<dir>: DataPilot's gateway writes a V8 CPU profile there when it stops.
        ...cpuProfileEnv('gateway', process.env.BENCH_GATEWAY_CPU_PROF, logDir),
      }),
      ...(BEFORE_ENTRY
        ? [spawn('datapilot-gateway-before', BEFORE_ENTRY, ports.before, datapilotEnv(ports.before))]
        : []),
      spawn('stock-gateway', baselines.stock, ports.stock, {
        ...gatewayEnv,
        // Its usage reporting to Apollo (a metrics exporter, off the request path) sends nothing out of a benchmark;
        // DataPilot's gateway turns it off too.
        APOLLO_TELEMETRY_DISABLED: 'true',
        BENCH_PORT: String(ports.stock),
      }),
      spawn('hive-gateway', baselines.hive, ports.hive, { ...gatewayEnv, BENCH_PORT: String(ports.hive) }),
      spawn('hive-gateway-nodedup', baselines.hive, ports.hiveNoDedup, {
        ...gatewayEnv,
        BENCH_PORT: String(ports.hiveNoDedup),
        BENCH_DEDUPE: '0',
      }),
    ]);
    const targetUrl: Record<Target, string> = {
      datapilot: http(ports.datapilot),
      'datapilot-before': http(ports.before),
      stock: http(ports.stock),
      hive: http(ports.hive),
      'hive-nodedup': http(ports.hiveNoDedup),
      direct: urls.auth,
    };

    // The organization: an owner, MEMBERS - 1 invited analysts, each with shared conversations.
    log(`signing up ${MEMBERS} members, ${MEMBERS * CONVERSATIONS_PER_MEMBER} shared conversations`);
    const owner = await gql<{ signup: { accessToken: string } }>(
      urls.auth,
      'mutation($i: SignupInput!) { signup(input: $i) { accessToken } }',
      { i: { email: `owner-${randomUUID()}@bench.datapilot.dev`, password: PASSWORD, orgName: 'Bench Org' } },
    );
    const token = owner.signup.accessToken;
    const tokens = [token];
    for (let i = 1; i < MEMBERS; i++) {
      const email = `member-${i}-${randomUUID()}@bench.datapilot.dev`;
      const inv = await gql<{ inviteMember: { token: string } }>(
        urls.auth,
        'mutation($e: String!) { inviteMember(email: $e, role: ANALYST) { token } }',
        { e: email },
        token,
      );
      const m = await gql<{ signup: { accessToken: string } }>(
        urls.auth,
        'mutation($i: SignupInput!) { signup(input: $i) { accessToken } }',
        { i: { email, password: PASSWORD, invitationToken: inv.inviteMember.token } },
      );
      tokens.push(m.signup.accessToken);
    }
    await Promise.all(
      tokens.map(async (t, i) => {
        for (let c = 0; c < CONVERSATIONS_PER_MEMBER; c++) {
          const conv = await gql<{ createConversation: { id: string } }>(
            urls.chat,
            'mutation($t: String!) { createConversation(title: $t) { id } }',
            { t: `Conversation ${c} of member ${i}` },
            t,
          );
          await gql(
            urls.chat,
            'mutation($id: ID!) { shareConversation(id: $id, shared: true) { id } }',
            {
              id: conv.createConversation.id,
            },
            t,
          );
        }
      }),
    );

    // Reference answers: the direct answer for `single`, the DataPilot gateway's for the others; every target must
    // answer the same data (and, under load, the very body it answered here).
    const headers = { authorization: `Bearer ${token}` };
    const bodies = Object.fromEntries(
      (Object.keys(QUERIES) as QueryName[]).map((q) => [q, JSON.stringify({ query: QUERIES[q] })]),
    ) as Record<QueryName, string>;
    const targetsOf = (q: QueryName): Target[] => TARGETS.filter((t) => t !== 'direct' || q === 'single');
    const expected = {} as Record<QueryName, Partial<Record<Target, string>>>;
    for (const q of Object.keys(QUERIES) as QueryName[]) {
      expected[q] = {};
      let reference: unknown;
      for (const t of targetsOf(q)) {
        const res = await fetch(targetUrl[t], {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: bodies[q],
        });
        const text = await res.text();
        const parsed = JSON.parse(text) as Gql<unknown>;
        if (!res.ok || parsed.errors || !parsed.data) throw new Error(`${t} answered ${q} with ${text.slice(0, 500)}`);
        reference ??= parsed.data;
        if (!isDeepStrictEqual(parsed.data, reference))
          throw new Error(`${t} answered ${q} with other data than ${targetsOf(q)[0]}: ${text.slice(0, 500)}`);
        expected[q][t] = text;
      }
    }
    const conversations = (
      JSON.parse(expected.entities.datapilot!) as { data: { conversations: { edges: unknown[] } } }
    ).data.conversations.edges.length;
    if (conversations !== MEMBERS * CONVERSATIONS_PER_MEMBER)
      throw new Error(`entities answered ${conversations} conversations, not ${MEMBERS * CONVERSATIONS_PER_MEMBER}`);

    const cells = new Map<string, Cell>();
    const key = (t: Target, q: QueryName, c: number) => `${t}|${q}|${c}`;
    const load: number[] = [];
    const run = async (t: Target, q: QueryName, connections: number, seconds: number, record: boolean) => {
      const r = await runLoad({
        url: targetUrl[t],
        body: bodies[q],
        headers,
        connections,
        seconds,
        expectBody: expected[q][t],
      });
      // A failed response (an error status or body, a timeout: overload) is counted and shown, not fatal.
      if (r.failures) log(`${t} ${q} at ${connections} connections: ${r.failures} failed response(s)`);
      if (!record) return;
      const cell = cells.get(key(t, q, connections)) ?? { ok: 0, seconds: 0, latencies: [], failures: 0 };
      cell.ok += r.ok;
      cell.seconds += r.seconds;
      cell.latencies.push(...r.latenciesMs);
      cell.failures += r.failures;
      cells.set(key(t, q, connections), cell);
    };

    log(`warming up every target (${WARMUP_SECONDS} s per query)`);
    for (const q of Object.keys(QUERIES) as QueryName[])
      for (const t of targetsOf(q)) await run(t, q, 20, WARMUP_SECONDS, false);

    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS} (${SECONDS} s per cell)`);
      for (const q of Object.keys(QUERIES) as QueryName[])
        for (const c of CONNECTIONS) for (const t of targetsOf(q)) await run(t, q, c, SECONDS, true);
      load.push(loadavg()[0]!);
    }

    // Tables.
    type Row = {
      target: Target;
      query: QueryName;
      connections: number;
      rps: number;
      lat: LatencyStats;
      failed: number;
    };
    const rows: Row[] = [];
    for (const q of Object.keys(QUERIES) as QueryName[])
      for (const c of CONNECTIONS)
        for (const t of targetsOf(q)) {
          const cell = cells.get(key(t, q, c))!;
          rows.push({
            target: t,
            query: q,
            connections: c,
            rps: cell.ok / cell.seconds,
            lat: latencyStats(cell.latencies),
            failed: cell.failures,
          });
        }
    const find = (t: Target, q: QueryName, c: number) =>
      rows.find((r) => r.target === t && r.query === q && r.connections === c)!;
    const table = markdownTable(
      [
        'query (subgraphs)',
        'conn',
        'target',
        'req/s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'failed',
        '× stock',
        '× Hive no-dedup',
      ],
      rows.map((r) => {
        const stock = find('stock', r.query, r.connections).rps;
        const hiveNoDedup = find('hive-nodedup', r.query, r.connections).rps;
        return [
          `${r.query} (${QUERY_SUBGRAPHS[r.query]})`,
          String(r.connections),
          TARGET_LABEL[r.target],
          fmt(r.rps, 0),
          fmt(r.lat.p50),
          fmt(r.lat.p95),
          fmt(r.lat.p99),
          String(r.failed),
          r.target === 'direct' ? '—' : fmt(ratio(r.rps, stock)),
          r.target === 'direct' ? '—' : fmt(ratio(r.rps, hiveNoDedup)),
        ];
      }),
    );
    const overheadRows = TARGETS.filter((t) => t !== 'direct').flatMap((t) =>
      CONNECTIONS.map((c) => {
        const gw = find(t, 'single', c).lat;
        const direct = find('direct', 'single', c).lat;
        return [
          TARGET_LABEL[t],
          String(c),
          fmt(gw.p50 - direct.p50),
          fmt(gw.p95 - direct.p95),
          fmt(gw.p99 - direct.p99),
        ];
      }),
    );
    const overhead = markdownTable(['gateway', 'conn', '+p50 ms', '+p95 ms', '+p99 ms'], overheadRows);

    // Targets (issue 9 §2): ≥ 1.2× stock and ≥ 1.0× Hive without de-duplication on every query (each connection
    // count), overhead ≤ 1.5 ms p50 at one connection.
    const notes: string[] = [];
    const misses: string[] = [];
    for (const q of Object.keys(QUERIES) as QueryName[])
      for (const c of CONNECTIONS) {
        const dp = find('datapilot', q, c).rps;
        const vsStock = ratio(dp, find('stock', q, c).rps);
        const vsHive = ratio(dp, find('hive-nodedup', q, c).rps);
        if (Number.isNaN(vsStock) || Number.isNaN(vsHive))
          misses.push(`${q} @${c}: not measured (no response in a cell)`);
        if (vsStock < 1.2)
          misses.push(`${q} @${c}: ${fmt(vsStock)}× stock (target 1.2×, short by ${fmt(1.2 - vsStock)})`);
        if (vsHive < 1.0)
          misses.push(`${q} @${c}: ${fmt(vsHive)}× Hive no-dedup (target 1.0×, short by ${fmt(1.0 - vsHive)})`);
      }
    const dpOverhead = find('datapilot', 'single', 1).lat.p50 - find('direct', 'single', 1).lat.p50;
    notes.push(
      misses.length
        ? `Throughput targets missed: ${misses.join('; ')}.`
        : 'Throughput targets met: DataPilot ≥ 1.2× stock and ≥ 1.0× Hive no-dedup on every query and connection count.',
    );
    notes.push(
      dpOverhead <= 1.5
        ? `Overhead target met: +${fmt(dpOverhead)} ms p50 over the auth subgraph at 1 connection (≤ 1.5 ms).`
        : `Overhead target missed: +${fmt(dpOverhead)} ms p50 over the auth subgraph at 1 connection (target ≤ 1.5 ms, ` +
            `${fmt(dpOverhead - 1.5)} ms over).`,
    );
    const entries = (['auth', 'chat', 'graph', 'gateway'] as const).map((s) => entryOf(s));
    const version = (pkg: string) =>
      (
        JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    const versions = ['@apollo/gateway', '@apollo/server', '@graphql-hive/gateway-runtime'].map(
      (p) => `${p} ${version(p)}`,
    );
    notes.push(
      `${ROUNDS} interleaved round(s) × ${SECONDS} s per cell after a ${WARMUP_SECONDS} s warm-up; autocannon in the ` +
        `benchmark's process; load average (1 min) ${fmt(Math.min(...load), 1)}–${fmt(Math.max(...load), 1)}. ` +
        `Services: ${entries.join(', ')}; baselines ${versions.join(', ')} on Node ${process.version}. Every ` +
        'response checked byte for byte against the one checked first.',
    );
    writeResult(
      'gateway',
      [
        { title: 'Gateway throughput and latency (same subgraphs, same supergraph)', markdown: table, notes },
        { title: 'Gateway overhead over the auth subgraph (query `single`)', markdown: overhead },
      ],
      { rounds: ROUNDS, seconds: SECONDS, queries: QUERIES, rows, loadavg: load, entries },
    );
    log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    await engines?.stop().catch(() => undefined);
  }
}

await main().catch((e) => {
  console.error(`[bench:gateway] failed: ${(e as Error).stack ?? (e as Error).message}`);
  process.exitCode = 1;
});
