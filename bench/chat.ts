/**
 * Benchmark: how long a question takes to answer in chat — to its first event and to its complete answer — warm (the
 * organization has asked before) and for a NEW organization's first question (its first Spark session), and how many
 * answers per second chat gives with 10 organizations asking at once.
 *
 * Real processes: the auth and chat subgraphs (spawnService of the compiled build, `serviceEntry` after
 * `ensureBuilt`), on the engines of the environment (PostgreSQL, the S3 store,
 * Spark Connect, Neo4j): a fresh database and a fresh bucket. Chat reads the lake (object store + Spark) and the
 * semantic layer (Neo4j) itself, so neither the lake nor the graph subgraph is on the path measured and neither is
 * started. Each organization signs up through auth; its tables (`penguins`, `flights`, `airports` of vega-datasets)
 * are Delta tables — written once through Spark (subgraphs/chat/test/support/demo-lake.ts), then copied object by
 * object to the other organizations (a Delta log's paths are relative: each copy is a table of its own) — and its
 * semantic layer is the demo organization's (subgraphs/chat/test/support/demo-catalog.ts), written into Neo4j in the
 * shape the pipeline's profiling step writes (subgraphs/graph/test/graph-fixture.ts).
 *
 * One question: `sendMessage` over HTTP (t0 just before it), then `messageEvents(messageId)` on the organization's
 * open graphql-ws connection (an event published before the subscription is replayed); the time of every event's
 * arrival after t0 is kept. Phases:
 *   1. warm: one organization that has asked before asks, one at a time, BENCH_WARM (default 40, quick 12) new
 *      questions (a threshold no one asked before: a Spark statement) alternating with as many repeated ones (four
 *      questions in turn, answered from the lake's result cache at an unchanged Delta version);
 *   2. new organization: BENCH_NEW organizations (default 5, quick 2), each asking its first question, one after
 *      another (each gets a new Spark session and registers its views). As in the real flow, where the pipeline
 *      writes and profiles the tables through the same Spark Connect server just before, Spark has read each table
 *      once (in a session of the benchmark's own); BENCH_COLD more (default 1) whose tables Spark never read (the
 *      first question after a Spark restart) are reported apart;
 *   3. concurrency: 10 organizations (each warmed by one question), each asking a new question, waiting for the
 *      complete answer and asking again, for BENCH_SECONDS (default 30, quick 10): answers per second and the
 *      latencies under load.
 * Where the time went inside chat: the chat process runs with LOG_LEVEL=debug and logs each answer's
 * `analyst timings` (subgraphs/chat/src/analyst/analyst.ts `AnalystTimings`); their medians per phase are a table.
 *
 * Run: `source /work/dev/env.sh && npx tsx bench/chat.ts [--quick]`. Writes `.local/bench/chat.json`.
 * BENCH_CHAT_CPU_PROF=<dir>: the chat process writes a V8 CPU profile (`.cpuprofile`) into `<dir>` when it stops.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import neo4j from 'neo4j-driver';
import { goldOrgPrefix, goldTablePrefix, s3aUri, type ObjectStore } from '@datapilot/lake-core';
import { startTestDatabase } from '../infra/postgres/testing.ts';
import { freePort } from '../infra/net.ts';
import { serviceEntry, spawnService, type Child } from '../scripts/lib/processes.ts';
import { ensureBuilt } from '../scripts/lib/build.ts';
import { REPO_ROOT } from '../scripts/stack.ts';
import { createDemoLake } from '../subgraphs/chat/test/support/demo-lake.ts';
import { deleteOrgs } from '../subgraphs/graph/test/graph-fixture.ts';
import { writeDemoSemanticLayer } from '../subgraphs/chat/test/support/demo-graph.ts';
import { AUTH_SERVICE_CONFIG } from '../subgraphs/auth/src/config.ts';
import { CHAT_SERVICE_CONFIG } from '../subgraphs/chat/src/config.ts';
import { fmt, latencyStats, machineInfo, markdownTable, writeResult, type LatencyStats } from './lib/report.ts';
import { gql } from './lib/gql.ts';
import { lakeEngineEnv } from './lib/engines.ts';
import { cpuProfileEnv } from './lib/profile.ts';

const NEEDED = [
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'SPARK_REMOTE',
  'NEO4J_URI',
  'NEO4J_PASSWORD',
];
const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const WARM = Number(process.env.BENCH_WARM ?? (QUICK ? 12 : 40));
const NEW_ORGS = Number(process.env.BENCH_NEW ?? (QUICK ? 2 : 5));
const COLD_ORGS = Number(process.env.BENCH_COLD ?? 1);
const CONCURRENT_ORGS = 10;
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 10 : 30));
const TABLES = ['penguins', 'flights', 'airports'];
const QUESTIONS = [
  'How many penguins are there of each species?',
  'Which origin airport has the most flights?',
  'What is the average flight delay?',
  'Which destination city receives the most flights?',
];
let asked = 0;
/**
 * A question no organization asked before (its number is new), so its answer is a Spark statement, not a hit of the
 * lake's result cache (packages/lake org-lake.ts: keyed by statement, arguments and Delta versions).
 */
const newQuestion = () => {
  const n = ++asked;
  return [
    `How many flights were delayed by more than ${n} minutes?`,
    `How many penguins weigh more than ${3000 + n} g?`,
    `What is the average delay of flights longer than ${100 + n} miles?`,
  ][n % 3]!;
};
/** The targets of issue 9 §2, in milliseconds. */
const TARGET = { newOrgComplete: 3_000, warmFirstEvent: 100, warmComplete: 1_500 };

const log = (msg: string) => console.error(`[bench:chat] ${msg}`);

/** An organization of the benchmark: its id, a member's token, a conversation and an open graphql-ws client. */
type Org = { orgId: string; token: string; conversationId: string; ws: Client };

/** One answered question: milliseconds from t0 (before `sendMessage`) to each event, by kind and in order. */
type Answer = {
  orgId: string;
  question: string;
  /** `sendMessage` answered. */
  sent: number;
  events: { kind: string; ms: number; status?: string | null }[];
  final: 'COMPLETE' | 'FAILED' | null;
  errorCode: string | null;
};

const SEND = 'mutation($c: ID!, $x: String!) { sendMessage(conversationId: $c, text: $x) { assistantMessage { id } } }';
const EVENTS =
  'subscription($id: ID!) { messageEvents(messageId: $id) { sequence kind message { status statusText errorCode } } }';

/** Asks `question` as `org` and follows its events to the end (at most 120 s). */
async function ask(chatUrl: string, org: Org, question: string): Promise<Answer> {
  const t0 = performance.now();
  const sent = await gql<{ sendMessage: { assistantMessage: { id: string } } }>(
    chatUrl,
    SEND,
    { c: org.conversationId, x: question },
    org.token,
  );
  if (sent.errors) throw new Error(`sendMessage failed: ${JSON.stringify(sent.errors)}`);
  const answer: Answer = {
    orgId: org.orgId,
    question,
    sent: performance.now() - t0,
    events: [],
    final: null,
    errorCode: null,
  };
  const id = sent.data!.sendMessage.assistantMessage.id;
  const timeout = setTimeout(() => void it.return?.(), 120_000);
  const it = org.ws.iterate<{
    messageEvents: { kind: string; message: { status: string; statusText: string | null; errorCode: string | null } };
  }>({ query: EVENTS, variables: { id } });
  try {
    for await (const r of it) {
      const e = r.data?.messageEvents;
      if (!e) throw new Error(`messageEvents: ${JSON.stringify(r.errors)}`);
      answer.events.push({ kind: e.kind, ms: performance.now() - t0, status: e.message.statusText });
      if (e.kind === 'COMPLETE' || e.kind === 'FAILED') {
        answer.final = e.kind;
        answer.errorCode = e.message.errorCode;
        break;
      }
    }
  } finally {
    clearTimeout(timeout);
  }
  return answer;
}

const firstEvent = (a: Answer) => a.events[0]?.ms ?? NaN;
const complete = (a: Answer) => (a.final === 'COMPLETE' ? a.events.at(-1)!.ms : NaN);

/** Copies every object of `from`'s gold tables to `to`'s gold prefix (Delta logs hold relative paths). */
async function cloneGold(store: ObjectStore, from: string, to: string): Promise<void> {
  const src = goldOrgPrefix(from);
  const dst = goldOrgPrefix(to);
  const objects = await store.listObjects(src);
  for (let i = 0; i < objects.length; i += 16)
    await Promise.all(objects.slice(i, i + 16).map((o) => store.copy(o.key, dst + o.key.slice(src.length))));
}

/** The `analyst timings` lines of the chat log: per org id, each answer's step times in ms. */
function analystTimings(logFile: string): Map<string, Record<string, number>[]> {
  const out = new Map<string, Record<string, number>[]>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"analyst timings"')) continue;
    try {
      const { orgId, ms } = JSON.parse(line) as { orgId: string; ms: Record<string, number> };
      out.set(orgId, [...(out.get(orgId) ?? []), ms]);
    } catch {
      // a line cut by the process's end
    }
  }
  return out;
}

const STEPS = [
  'status',
  'tables',
  'semantic',
  'read',
  'catalog',
  'plan',
  'publish',
  'query',
  'result',
  'text',
  'total',
];
/** Client-side milestones: ms after t0 of the n-th event of a kind (the first STATUS is the move to STREAMING). */
const MILESTONES: [string, (a: Answer) => number][] = [
  ['sendMessage answered', (a) => a.sent],
  ['STATUS (streaming)', (a) => a.events.find((e) => e.kind === 'STATUS')?.ms ?? NaN],
  ['STATUS (reading tables)', (a) => a.events.filter((e) => e.kind === 'STATUS')[1]?.ms ?? NaN],
  ['PLAN', (a) => a.events.find((e) => e.kind === 'PLAN')?.ms ?? NaN],
  ['SQL', (a) => a.events.find((e) => e.kind === 'SQL')?.ms ?? NaN],
  ['RESULT', (a) => a.events.find((e) => e.kind === 'RESULT')?.ms ?? NaN],
  ['first TEXT_DELTA', (a) => a.events.find((e) => e.kind === 'TEXT_DELTA')?.ms ?? NaN],
  ['COMPLETE', complete],
];
const median = (xs: number[]) => latencyStats(xs.filter((x) => !Number.isNaN(x))).p50;

async function main() {
  const missing = NEEDED.filter((n) => !process.env[n]);
  if (missing.length)
    throw new Error(
      `Missing ${missing.join(', ')}: point the benchmark at running engines (\`source /work/dev/env.sh\`).`,
    );
  const logDir = mkdtempSync(path.join(tmpdir(), 'datapilot-bench-chat-'));
  const children: Child[] = [];
  const orgIds: string[] = [];
  log(`service logs in ${logDir}${QUICK ? ' (quick run)' : ''}`);
  const db = await startTestDatabase();
  const demo = await createDemoLake();
  const driver = neo4j.driver(
    process.env.NEO4J_URI!,
    neo4j.auth.basic(process.env.NEO4J_USER ?? 'neo4j', process.env.NEO4J_PASSWORD!),
  );
  const clients: Client[] = [];
  try {
    const ports = { auth: await freePort(), chat: await freePort() };
    const base = {
      ...lakeEngineEnv(demo.store.bucket),
      NEO4J_URI: process.env.NEO4J_URI!,
      NEO4J_USER: process.env.NEO4J_USER ?? 'neo4j',
      NEO4J_PASSWORD: process.env.NEO4J_PASSWORD!,
      AUTH_JWKS_URL: `http://127.0.0.1:${ports.auth}/.well-known/jwks.json`,
      LOG_LEVEL: 'warn',
    };
    const configs = { auth: AUTH_SERVICE_CONFIG, chat: CHAT_SERVICE_CONFIG };
    const database = async (name: 'auth' | 'chat'): Promise<Record<string, string>> =>
      'DATABASE_MIGRATION_URL' in configs[name]
        ? { DATABASE_URL: await db.urlAs(`datapilot_${name}`), DATABASE_MIGRATION_URL: db.url }
        : { DATABASE_URL: db.url };
    // The compiled build (dist/<service>/main.js), built first when its sources changed.
    await ensureBuilt(log);
    const entryOf = (service: 'auth' | 'chat') => serviceEntry(service);
    const spawn = async (service: 'auth' | 'chat', port: number, env: Record<string, string>) => {
      log(`starting ${service} (${entryOf(service)}) on :${port}`);
      const c = await spawnService({
        name: service,
        entry: entryOf(service),
        env: { ...base, ...(await database(service)), ...env },
        port,
        logDir,
        cwd: REPO_ROOT,
      });
      children.push(c);
      return c;
    };
    await spawn('auth', ports.auth, { AUTH_PORT: String(ports.auth), ACCESS_TOKEN_TTL_SECONDS: '3600' });
    // BENCH_CHAT_CPU_PROF=<dir>: the chat process writes a V8 CPU profile there when it stops (a preload module:
    // Node refuses --cpu-prof in NODE_OPTIONS).
    const chat = await spawn('chat', ports.chat, {
      CHAT_PORT: String(ports.chat),
      LOG_LEVEL: 'debug',
      ...cpuProfileEnv('chat', process.env.BENCH_CHAT_CPU_PROF, logDir),
    });
    const chatUrl = `http://127.0.0.1:${ports.chat}/graphql`;
    const wsUrl = `ws://127.0.0.1:${ports.chat}/graphql`;
    const authUrl = `http://127.0.0.1:${ports.auth}/graphql`;

    /** Signs up an organization through auth (no tables yet). */
    const signup = async (name: string) => {
      const r = await gql<{ signup: { accessToken: string; organization: { id: string } } }>(
        authUrl,
        'mutation($i: SignupInput!) { signup(input: $i) { accessToken organization { id } } }',
        { i: { email: `${randomUUID()}@bench.datapilot.dev`, password: 'Bench-password-2026', orgName: name } },
      );
      if (r.errors) throw new Error(`signup failed: ${JSON.stringify(r.errors)}`);
      orgIds.push(r.data!.signup.organization.id);
      return { token: r.data!.signup.accessToken, orgId: r.data!.signup.organization.id };
    };
    /** Connects an organization to chat: a conversation and an acknowledged graphql-ws client. */
    const connect = async (o: { token: string; orgId: string }): Promise<Org> => {
      const c = await gql<{ createConversation: { id: string } }>(
        chatUrl,
        'mutation { createConversation(title: "bench") { id } }',
        {},
        o.token,
      );
      if (c.errors) throw new Error(`createConversation failed: ${JSON.stringify(c.errors)}`);
      let ack!: () => void;
      const acked = new Promise<void>((r) => (ack = r));
      const ws = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${o.token}` },
        retryAttempts: 0,
        lazy: false,
        on: { connected: () => ack() },
      });
      clients.push(ws);
      await acked;
      return { ...o, conversationId: c.data!.createConversation.id, ws };
    };

    // The template organization's tables through Spark, then copies for every other organization.
    const template = await signup('Template Org');
    log(`writing ${TABLES.join(', ')} through Spark`);
    let t = performance.now();
    await demo.write(template.orgId, TABLES);
    log(`written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    // The pipeline writes and profiles a new organization's tables through the same Spark Connect server, so Spark
    // has read them before the first question: `touch` reads each copy once, in a session of the benchmark's own.
    const pipelineSession = randomUUID();
    const prepare = async (name: string, touch: boolean) => {
      const o = await signup(name);
      await cloneGold(demo.store, template.orgId, o.orgId);
      if (touch)
        for (const table of TABLES)
          await demo.spark.executeSql(
            pipelineSession,
            `SELECT COUNT(*) FROM delta.\`${s3aUri(demo.store.bucket, goldTablePrefix(o.orgId, table))}\``,
          );
      await writeDemoSemanticLayer(driver, o.orgId, TABLES);
      return connect(o);
    };
    await writeDemoSemanticLayer(driver, template.orgId, TABLES);
    const warmOrg = await connect(template);
    t = performance.now();
    const newOrgs: Org[] = [];
    for (let i = 0; i < NEW_ORGS; i++) newOrgs.push(await prepare(`New Org ${i + 1}`, true));
    const coldOrgs: Org[] = [];
    for (let i = 0; i < COLD_ORGS; i++) coldOrgs.push(await prepare(`Cold Org ${i + 1}`, false));
    const loadOrgs: Org[] = [];
    for (let i = 0; i < CONCURRENT_ORGS; i++) loadOrgs.push(await prepare(`Load Org ${i + 1}`, true));
    await demo.spark.releaseSession(pipelineSession).catch(() => undefined);
    log(
      `${NEW_ORGS + COLD_ORGS + CONCURRENT_ORGS} organizations prepared in ` +
        `${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    /** Answers that did not complete (a timeout under load is a measurement, not a broken run), by phase. */
    const failures: Record<string, string[]> = {};
    /** Every answer in the order it ended, with its phase (to pair it with its `analyst timings` line). */
    const sequence: { phase: string; answer: Answer }[] = [];
    const keep = (phase: string, into: Answer[]) => (a: Answer) => {
      sequence.push({ phase, answer: a });
      if (a.final === 'COMPLETE') into.push(a);
      else (failures[phase] ??= []).push(`"${a.question}": ${a.final} (${a.errorCode})`);
    };
    const load: number[] = [];

    // 1. Warm: the first question pays for the session; then WARM questions, one at a time.
    log('warm organization: first questions (not measured)');
    for (const q of QUESTIONS) keep('warm-up', [])(await ask(chatUrl, warmOrg, q));
    log(`warm organization: ${WARM} new questions and ${WARM} repeated ones, alternating`);
    const warm: Answer[] = [];
    const repeated: Answer[] = [];
    for (let i = 0; i < WARM; i++) {
      keep('warm', warm)(await ask(chatUrl, warmOrg, newQuestion()));
      keep('warm, repeated', repeated)(await ask(chatUrl, warmOrg, QUESTIONS[i % QUESTIONS.length]!));
    }
    load.push(loadavg()[0]!);

    // 2. New organizations' first questions, one after another.
    const fresh: Answer[] = [];
    for (const [i, o] of newOrgs.entries()) {
      log(`new organization ${i + 1}/${NEW_ORGS}: first question`);
      keep('new org', fresh)(await ask(chatUrl, o, newQuestion()));
    }
    const cold: Answer[] = [];
    for (const [i, o] of coldOrgs.entries()) {
      log(`new organization whose tables Spark never read ${i + 1}/${COLD_ORGS}: first question`);
      keep('new org, cold tables', cold)(await ask(chatUrl, o, newQuestion()));
    }
    load.push(loadavg()[0]!);

    // 3. Ten organizations at once (each warmed by one question first).
    log(`${CONCURRENT_ORGS} organizations: warming`);
    await Promise.all(
      loadOrgs.map((o, i) => ask(chatUrl, o, QUESTIONS[i % QUESTIONS.length]!).then(keep('10 orgs warm-up', []))),
    );
    log(`${CONCURRENT_ORGS} organizations asking at once for ${SECONDS} s`);
    const concurrent: Answer[] = [];
    let failed = 0;
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(
      loadOrgs.map(async (o) => {
        for (let i = 0; performance.now() < deadline; i++) {
          const a = await ask(chatUrl, o, newQuestion());
          if (a.final !== 'COMPLETE') failed++;
          keep(`${CONCURRENT_ORGS} orgs at once`, concurrent)(a);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    load.push(loadavg()[0]!);

    // Where the time went inside chat, per phase.
    await new Promise((r) => setTimeout(r, 200)); // the log's last lines
    const timings = analystTimings(chat.logFile);
    // An organization's answers end one at a time, and each that completes logged one line, in the same order.
    const stepsOf = new Map<string, Record<string, number>[]>();
    const cursor = new Map<string, number>();
    for (const { phase, answer } of sequence) {
      if (answer.final !== 'COMPLETE') continue;
      const i = cursor.get(answer.orgId) ?? 0;
      cursor.set(answer.orgId, i + 1);
      const line = timings.get(answer.orgId)?.[i];
      if (line) stepsOf.set(phase, [...(stepsOf.get(phase) ?? []), line]);
    }
    const PHASES = ['warm', 'warm, repeated', 'new org', 'new org, cold tables', `${CONCURRENT_ORGS} orgs at once`];
    const answersOf: Record<string, Answer[]> = {
      warm,
      'warm, repeated': repeated,
      'new org': fresh,
      'new org, cold tables': cold,
      [`${CONCURRENT_ORGS} orgs at once`]: concurrent,
    };

    const s = {
      warmFirst: latencyStats(warm.map(firstEvent)),
      warmComplete: latencyStats(warm.map(complete)),
      repeatedFirst: latencyStats(repeated.map(firstEvent)),
      repeatedComplete: latencyStats(repeated.map(complete)),
      freshFirst: latencyStats(fresh.map(firstEvent)),
      freshComplete: latencyStats(fresh.map(complete)),
      coldFirst: latencyStats(cold.map(firstEvent)),
      coldComplete: latencyStats(cold.map(complete)),
      loadFirst: latencyStats(concurrent.map(firstEvent)),
      loadComplete: latencyStats(concurrent.map(complete)),
    };
    const row = (name: string, x: LatencyStats) => [name, String(x.n), fmt(x.p50, 0), fmt(x.p95, 0), fmt(x.max, 0)];
    const perSecond = concurrent.length / elapsed;
    const verdict = (what: string, measured: number, target: number) =>
      measured <= target
        ? `${what}: target ≤ ${target} ms met (p50 ${measured.toFixed(0)} ms).`
        : `${what}: target ≤ ${target} ms missed by ${(measured - target).toFixed(0)} ms (p50 ${measured.toFixed(0)} ms).`;
    const loadLine =
      `Load average (1 min) at the end of each phase: ${load.map((l) => l.toFixed(1)).join(', ')} on ${cpus().length} ` +
      'cores (other engineers build on this machine).';
    const stepTable = markdownTable(
      ['step (median ms)', ...PHASES],
      STEPS.map((k) => [k, ...PHASES.map((p) => fmt(median((stepsOf.get(p) ?? []).map((x) => x[k] ?? NaN)), 1))]),
    );
    const milestoneTable = markdownTable(
      ['event (median ms after sendMessage)', ...PHASES],
      MILESTONES.map(([name, f]) => [name, ...PHASES.map((p) => fmt(median(answersOf[p]!.map(f)), 0))]),
    );
    writeResult(
      'chat',
      [
        {
          title: 'Chat: time to first event and to the complete answer (ms)',
          markdown: markdownTable(
            ['phase', 'n', 'p50', 'p95', 'max'],
            [
              row('warm, new question → first event', s.warmFirst),
              row('warm, new question → complete', s.warmComplete),
              row('warm, repeated question (result cache) → first event', s.repeatedFirst),
              row('warm, repeated question (result cache) → complete', s.repeatedComplete),
              row('new org first question → first event', s.freshFirst),
              row('new org first question → complete', s.freshComplete),
              row('new org, tables Spark never read → first event', s.coldFirst),
              row('new org, tables Spark never read → complete', s.coldComplete),
              row(`${CONCURRENT_ORGS} orgs at once → first event`, s.loadFirst),
              row(`${CONCURRENT_ORGS} orgs at once → complete`, s.loadComplete),
            ],
          ),
          notes: [
            `${CONCURRENT_ORGS} organizations asking at once: ${perSecond.toFixed(2)} answers/s over ${elapsed.toFixed(1)} s` +
              (failed ? ` (${failed} failed)` : '') +
              '.',
            ...Object.entries(failures).map(
              ([phase, list]) => `Not completed (${phase}): ${list.length}: ${list.slice(0, 3).join('; ')}.`,
            ),
            verdict('Warm new question → first event', s.warmFirst.p50, TARGET.warmFirstEvent),
            verdict('Warm new question → complete answer', s.warmComplete.p50, TARGET.warmComplete),
            verdict('Warm repeated question → complete answer', s.repeatedComplete.p50, TARGET.warmComplete),
            verdict("New organization's first question → complete answer", s.freshComplete.p50, TARGET.newOrgComplete),
            'New questions: a count or an average with a threshold no one asked before (a Spark statement); repeated: ' +
              `${QUESTIONS.map((q) => `"${q}"`).join(', ')}, rotating (the lake's result cache); the deterministic ` +
              'analyst (no LLM); ' +
              `text streamed at CHAT_STREAM_DELAY_MS (default 20 ms) per piece. ${loadLine}`,
          ],
        },
        { title: 'Chat: client-side milestones (median ms after sendMessage)', markdown: milestoneTable },
        {
          title: "Chat: where the analyst's time goes (median ms per step, from the chat log's `analyst timings`)",
          markdown: stepTable,
          notes: [
            '`tables` (object-store listing + Delta logs) and `semantic` (Neo4j or its cache) run at once; `read` is ' +
              'both; `status` (stored in PostgreSQL and published) runs during `read`. `publish` (plan and SQL stored ' +
              'and published) runs while the statement already does; `query` is the rest of the statement (with the ' +
              "session and view registration for a new organization), or the lake's result cache.",
          ],
        },
      ],
      {
        quick: QUICK,
        machine: machineInfo(),
        load,
        stats: s,
        answersPerSecond: perSecond,
        failed,
        failures,
        timings: Object.fromEntries(stepsOf),
        answers: { warm, repeated, fresh, cold, concurrent },
      },
    );
  } finally {
    for (const c of clients) await c.dispose();
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await deleteOrgs(driver, orgIds).catch(() => undefined);
    await driver.close().catch(() => undefined);
    await demo.cleanup().catch(() => undefined);
    await db.close().catch(() => undefined);
  }
}

await main().catch((e) => {
  console.error(`[bench:chat] failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
