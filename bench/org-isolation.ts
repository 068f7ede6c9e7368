/**
 * Benchmark: does one organization flooding questions slow another organization's reads?
 *
 * Real services, each a process of its own started from its `src/main.ts` (as `npm start` does): the auth, lake and
 * chat subgraphs, on the engines of the environment (PostgreSQL, the S3 store, Spark Connect), a fresh database and a
 * fresh bucket. Two organizations sign up through auth; `penguins` and `flights` (vega-datasets) are written for
 * each as Delta tables through Spark, as the chat tests do (subgraphs/chat/test/support/demo-lake.ts).
 *
 * Org B reads from the lake subgraph one request at a time — `lakeTable(name: "flights") { rows(first: 100) }`
 * (a Spark statement) and `lakeTables { name version columns }` (the object store only) — and its latencies are
 * recorded in three phases, interleaved round by round (BENCH_ROUNDS, default 3) so that a change of the machine's
 * load touches them alike:
 *   1. alone;
 *   2. while org A floods `sendMessage` on a chat process with the limits on (CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG
 *      and LAKE_MAX_CONCURRENT_STATEMENTS_PER_ORG as the environment sets them, else their defaults);
 *   3. while org A floods a second chat process (same database and lake) with the limits off (1000 and 1000).
 * The flood: BENCH_WORKERS clients of org A (default 32), each asking a question about `flights` or `penguins`,
 * polling its answer every 250 ms until it is COMPLETE or FAILED, and asking again; on RATE_LIMITED it waits
 * `retryAfterSeconds`, at most 1 s, and asks again.
 *
 * Run: `source /work/dev/env.sh && npm run bench:isolation` (needs DATABASE_URL, S3_ENDPOINT, S3_ACCESS_KEY_ID,
 * S3_SECRET_ACCESS_KEY, SPARK_REMOTE: the engines of a test run, or of `npm start`). BENCH_ITERATIONS (default 20)
 * reads of each kind per phase and round. Prints a Markdown table (and the raw numbers as JSON); the services' logs
 * stay in the folder it names.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { startTestDatabase } from '../infra/postgres/testing.ts';
import { freePort } from '../infra/net.ts';
import { spawnService, type Child } from '../scripts/lib/processes.ts';
import { REPO_ROOT } from '../scripts/stack.ts';
import { createDemoLake } from '../subgraphs/chat/test/support/demo-lake.ts';
import { AUTH_SERVICE_CONFIG } from '../subgraphs/auth/src/config.ts';
import { CHAT_SERVICE_CONFIG } from '../subgraphs/chat/src/config.ts';
import { LAKE_SERVICE_CONFIG } from '../subgraphs/lake/src/config.ts';
import { DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG } from '../subgraphs/chat/src/responder.ts';
import { DEFAULT_STATEMENT_LIMITS } from '../packages/lake/src/index.ts';
import { gql } from './lib/gql.ts';
import { lakeEngineEnv } from './lib/engines.ts';

const NEEDED = ['DATABASE_URL', 'S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'SPARK_REMOTE'];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 32);
const newCounts = (): FloodCounts => ({ accepted: 0, complete: 0, failed: {}, refused: 0, seconds: 0 });
const TABLES = ['penguins', 'flights'];
const QUESTIONS = [
  'Which origin airport has the most flights?',
  'What is the average flight delay?',
  'How many flights were delayed by more than 60 minutes?',
  'How many penguins are there of each species?',
];
const ROWS = '{ lakeTable(name: "flights") { rows(first: 100) { edges { node } } } }';
const TABLES_QUERY = '{ lakeTables { name version columns { name type } } }';

const log = (msg: string) => console.error(`[bench] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The value at rank ⌈q·n⌉ of the sorted sample (nearest-rank percentile), in milliseconds. */
function percentile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

type Stats = { n: number; p50: number; p95: number; mean: number; max: number };
const stats = (samples: number[]): Stats => {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 0.5),
    p95: percentile(s, 0.95),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    max: s.at(-1)!,
  };
};

/** Latencies of org B's reads, in milliseconds, and how many answered wrong. */
type Reads = { rows: number[]; tables: number[]; errors: number };

/** Org B's reads, one at a time, alternating the two kinds, `n` of each, appended to `into`. */
async function measureB(lakeUrl: string, token: string, n: number, into: Reads) {
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    const r = await gql<{ lakeTable: { rows: { edges: unknown[] } } | null }>(lakeUrl, ROWS, {}, token);
    into.rows.push(performance.now() - t);
    if (r.errors || r.data?.lakeTable?.rows?.edges?.length !== 100) into.errors++;
    t = performance.now();
    const l = await gql<{ lakeTables: unknown[] }>(lakeUrl, TABLES_QUERY, {}, token);
    into.tables.push(performance.now() - t);
    if (l.errors || l.data?.lakeTables?.length !== TABLES.length) into.errors++;
  }
}

type FloodCounts = {
  accepted: number;
  complete: number;
  failed: Record<string, number>;
  refused: number;
  /** Seconds the flood ran. */
  seconds: number;
};

/**
 * Org A's flood on the chat subgraph until `stop()`: WORKERS clients, each asking, waiting for the answer (polled
 * every 250 ms), asking again; RATE_LIMITED → wait min(retryAfterSeconds, 1 s). `stop()` resolves when every worker
 * has seen its last answer end.
 */
function flood(chatUrl: string, token: string, counts: FloodCounts) {
  let running = true;
  const started = Date.now();
  const worker = async (w: number) => {
    const created = await gql<{ createConversation: { id: string } }>(
      chatUrl,
      'mutation { createConversation(title: "flood") { id } }',
      {},
      token,
    );
    const conversationId = created.data!.createConversation.id;
    for (let i = 0; running; i++) {
      const sent = await gql<{ sendMessage: { assistantMessage: { id: string } } }>(
        chatUrl,
        'mutation($c: ID!, $x: String!) { sendMessage(conversationId: $c, text: $x) { assistantMessage { id } } }',
        { c: conversationId, x: QUESTIONS[(w + i) % QUESTIONS.length] },
        token,
      );
      const code = sent.errors?.[0]?.extensions?.code;
      if (code === 'RATE_LIMITED') {
        counts.refused++;
        await sleep(Math.min(1000, 1000 * Number(sent.errors![0]!.extensions!.retryAfterSeconds)));
        continue;
      }
      if (sent.errors) throw new Error(`sendMessage failed: ${JSON.stringify(sent.errors)}`);
      counts.accepted++;
      const id = sent.data!.sendMessage.assistantMessage.id;
      for (;;) {
        await sleep(250);
        const m = (
          await gql<{ message: { status: string; errorCode: string } | null }>(
            chatUrl,
            'query($id: ID!) { message(id: $id) { status errorCode } }',
            { id },
            token,
          )
        ).data?.message;
        if (m?.status === 'COMPLETE') counts.complete++;
        else if (m?.status === 'FAILED') counts.failed[m.errorCode] = (counts.failed[m.errorCode] ?? 0) + 1;
        else continue;
        break;
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      counts.seconds += (Date.now() - started) / 1000;
    },
  };
}

async function main() {
  const missing = NEEDED.filter((n) => !process.env[n]);
  if (missing.length)
    throw new Error(
      `Missing ${missing.join(', ')}: point the benchmark at running engines (e.g. \`source /work/dev/env.sh\`, or ` +
        'the addresses `npm start` prints).',
    );
  const logDir = mkdtempSync(path.join(tmpdir(), 'datapilot-bench-'));
  const children: Child[] = [];
  log(`service logs in ${logDir}`);
  log('creating a database and a bucket');
  const db = await startTestDatabase();
  const demo = await createDemoLake();
  try {
    const ports = { auth: await freePort(), lake: await freePort(), chat: await freePort(), chatOff: await freePort() };
    const base = {
      ...lakeEngineEnv(demo.store.bucket),
      AUTH_JWKS_URL: `http://127.0.0.1:${ports.auth}/.well-known/jwks.json`,
      LOG_LEVEL: 'warn',
    };
    const configs = { auth: AUTH_SERVICE_CONFIG, lake: LAKE_SERVICE_CONFIG, chat: CHAT_SERVICE_CONFIG };
    /** A service that runs as a runtime role gets that role's URL and the owner's for its migrations. */
    const database = async (name: 'auth' | 'lake' | 'chat'): Promise<Record<string, string>> =>
      'DATABASE_MIGRATION_URL' in configs[name]
        ? { DATABASE_URL: await db.urlAs(`datapilot_${name}`), DATABASE_MIGRATION_URL: db.url }
        : { DATABASE_URL: db.url };
    /** Starts `subgraphs/<service>/src/main.ts` as process `name` on `port`. */
    const spawn = async (
      service: 'auth' | 'lake' | 'chat',
      name: string,
      port: number,
      env: Record<string, string>,
    ) => {
      log(`starting ${name} on :${port}`);
      const c = await spawnService({
        name,
        entry: `subgraphs/${service}/src/main.ts`,
        env: { ...base, ...(await database(service)), ...env },
        port,
        logDir,
        cwd: REPO_ROOT,
      });
      children.push(c);
      return c;
    };
    await spawn('auth', 'auth', ports.auth, { AUTH_PORT: String(ports.auth), ACCESS_TOKEN_TTL_SECONDS: '3600' });
    await spawn('lake', 'lake', ports.lake, {
      LAKE_PORT: String(ports.lake),
      // The run watcher polls Airflow; this benchmark starts no run.
      AIRFLOW_URL: process.env.AIRFLOW_URL ?? `http://127.0.0.1:${await freePort()}`,
      AIRFLOW_USERNAME: process.env.AIRFLOW_USERNAME ?? 'datapilot',
      AIRFLOW_PASSWORD: process.env.AIRFLOW_PASSWORD ?? 'unused',
    });
    // Two chat processes on the same database and lake: one with the limits of the environment (or the defaults),
    // one with them off. Each is idle while the other is flooded.
    await spawn('chat', 'chat', ports.chat, { CHAT_PORT: String(ports.chat) });
    await spawn('chat', 'chat-limits-off', ports.chatOff, {
      CHAT_PORT: String(ports.chatOff),
      CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG: '1000',
      LAKE_MAX_CONCURRENT_STATEMENTS_PER_ORG: '1000',
    });
    const chats = {
      on: `http://127.0.0.1:${ports.chat}/graphql`,
      off: `http://127.0.0.1:${ports.chatOff}/graphql`,
    };

    const authUrl = `http://127.0.0.1:${ports.auth}/graphql`;
    const lakeUrl = `http://127.0.0.1:${ports.lake}/graphql`;
    const signup = async (orgName: string) => {
      const r = await gql<{ signup: { accessToken: string; organization: { id: string } } }>(
        authUrl,
        'mutation($i: SignupInput!) { signup(input: $i) { accessToken organization { id } } }',
        { i: { email: `${randomUUID()}@bench.datapilot.dev`, password: 'Bench-password-2026', orgName } },
      );
      if (r.errors) throw new Error(`signup failed: ${JSON.stringify(r.errors)}`);
      return { token: r.data!.signup.accessToken, orgId: r.data!.signup.organization.id };
    };
    const A = await signup('Flooding Org');
    const B = await signup('Reading Org');
    for (const [who, org] of [
      ['A', A],
      ['B', B],
    ] as const) {
      log(`writing ${TABLES.join(', ')} for org ${who} through Spark`);
      await demo.write(org.orgId, TABLES);
    }

    log('warming up (views, value samples)');
    await measureB(lakeUrl, B.token, 5, { rows: [], tables: [], errors: 0 });
    const warm = flood(chats.on, A.token, newCounts());
    await sleep(5_000);
    await warm.stop();

    const limitsOn =
      `${process.env.CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG ?? DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG} questions, ` +
      `${process.env.LAKE_MAX_CONCURRENT_STATEMENTS_PER_ORG ?? DEFAULT_STATEMENT_LIMITS.perOrg} statements per org`;
    const phases = [
      { name: 'B alone', chat: null },
      { name: `B while A floods, limits on (${limitsOn})`, chat: chats.on },
      { name: 'B while A floods, limits off (1000 and 1000)', chat: chats.off },
    ].map((p) => ({ ...p, reads: { rows: [], tables: [], errors: 0 } as Reads, flood: newCounts() }));
    const load: number[] = [];
    for (let round = 1; round <= ROUNDS; round++)
      for (const p of phases) {
        log(`round ${round}/${ROUNDS}: ${p.name}`);
        const f = p.chat ? flood(p.chat, A.token, p.flood) : null;
        if (f) await sleep(3_000); // let the flood reach its steady state
        await measureB(lakeUrl, B.token, ITERATIONS, p.reads);
        load.push(loadavg()[0]!);
        await f?.stop();
      }

    const results = phases.map((p) => ({
      name: p.name,
      rows: stats(p.reads.rows),
      tables: stats(p.reads.tables),
      errors: p.reads.errors,
      flood: p.chat ? p.flood : null,
    }));
    const alone = results[0]!;
    const ms = (x: number) => x.toFixed(0);
    const ratio = (x: number, y: number) => (x / y).toFixed(2);
    const lines = [
      `B: ${ROUNDS} rounds × ${ITERATIONS} × \`lakeTable(flights) { rows(first: 100) }\` (a Spark statement) and ` +
        `\`lakeTables\` (object store only), one at a time; phases interleaved round by round. A: ${WORKERS} ` +
        `clients, each asking, waiting for its answer, asking again. Latencies in ms. Load average (1 min) during ` +
        `the measurements: ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)} on ${cpus().length} cores.`,
      '',
      '| phase | rows p50 | rows p95 | rows p50 / alone | rows p95 / alone | lakeTables p50 | lakeTables p95 | ' +
        'lakeTables p50 / alone | lakeTables p95 / alone | B errors | A answers/s | A refused/s |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...results.map((r) => {
        const failed = r.flood ? Object.values(r.flood.failed).reduce((a, b) => a + b, 0) : 0;
        const perSecond = (x: number) => (r.flood ? (x / r.flood.seconds).toFixed(1) : '-');
        return (
          `| ${r.name} | ${ms(r.rows.p50)} | ${ms(r.rows.p95)} | ${ratio(r.rows.p50, alone.rows.p50)} | ` +
          `${ratio(r.rows.p95, alone.rows.p95)} | ${ms(r.tables.p50)} | ${ms(r.tables.p95)} | ` +
          `${ratio(r.tables.p50, alone.tables.p50)} | ${ratio(r.tables.p95, alone.tables.p95)} | ${r.errors} | ` +
          `${r.flood ? perSecond(r.flood.complete) : '-'}${failed ? ` (+${failed} failed)` : ''} | ` +
          `${r.flood ? perSecond(r.flood.refused) : '-'} |`
        );
      }),
    ];
    console.log(lines.join('\n'));
    console.log(`\n${JSON.stringify(results)}`);
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await demo.cleanup().catch(() => undefined);
    await db.close().catch(() => undefined);
  }
}

await main().catch((e) => {
  console.error(`[bench] failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
