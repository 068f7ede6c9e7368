// Tracing (issue 7, section 6): what an OTLP/HTTP receiver of the test's own receives.
// - In this process: log lines carry the active span's ids; SQL statements are spans of the request that sent them
//   (even when it waited for a pooled connection), without their parameter values; a failure is recorded; with no
//   endpoint set, no OpenTelemetry package is loaded at all.
// - One federated request through the whole stack, each service a process of its own as `npm start` runs them
//   (scripts/stack.ts), so each has its own tracer provider and resource `service.name = datapilot-<service>`: the
//   gateway continues the caller's `traceparent`, each subgraph's server span is a child of the gateway's fetch span
//   for it, and the SQL, Spark and Cypher statements are spans inside the subgraph that ran them.
// Expected ids, names and values come from the request sent here, the OTLP/JSON specification (span kinds, status
// codes) and the data written here, never from DataPilot's code.
import { createServer, type Server } from 'node:http';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  DataPilotError,
  inTransaction,
  startTracing,
  traceQueries,
  withSpan,
  type Tracing,
} from '@datapilot/common';
import { createSparkConnectClient, goldTablePrefix, s3aUri } from '@datapilot/lake-core';
import { startStack, REPO_ROOT, type Stack } from '../scripts/stack.ts';
import { freePort } from '../infra/net.ts';
import { gql } from './e2e/client.ts';
import { createDatabase, dropDatabase } from './support/stack.ts';

/** OTLP `Span.SpanKind` and `Status.StatusCode` numbers (opentelemetry-proto, trace.proto). */
const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const STATUS_ERROR = 2;

/** One span as received, attributes decoded from OTLP/JSON `AnyValue`s. */
type Received = {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
};

type KeyValue = { key: string; value: Record<string, unknown> };
const decode = (kvs: KeyValue[] = []) =>
  Object.fromEntries(
    kvs.map(({ key, value }) => {
      const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? value.intValue;
      return [key, typeof v === 'string' && 'intValue' in value ? Number(v) : v];
    }),
  );

/** A plain OTLP/HTTP receiver: `POST /v1/traces` with a JSON `ExportTraceServiceRequest`, answered `{}`. */
async function startReceiver() {
  const spans: Received[] = [];
  const contentTypes = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) {
        const service = String(decode(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              kind: s.kind,
              attributes: decode(s.attributes),
              status: s.status ?? {},
              events: (s.events ?? []).map((e: { name: string; attributes?: KeyValue[] }) => ({
                name: e.name,
                attributes: decode(e.attributes),
              })),
            });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls `fn` every 100 ms until it returns a value other than undefined, for at most `ms`. */
async function waitFor<T>(what: string, fn: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The span `s` and its ancestors within `spans`, nearest first. */
function lineage(spans: Received[], s: Received): Received[] {
  const byId = new Map(spans.map((x) => [x.spanId, x]));
  const out = [s];
  for (let p = s.parentSpanId && byId.get(s.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId))
    out.push(p);
  return out;
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  receiver = await startReceiver();
  // Read by the SDK of this process and of every service the stack spawns (they inherit this environment).
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
});

afterAll(async () => {
  process.env = savedEnv;
  await receiver?.close();
});

describe('tracing in one process', () => {
  let tracing: Tracing;
  let pool: pg.Pool;

  beforeAll(async () => {
    tracing = await startTracing('tracing-test', undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    pool = traceQueries(new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 }));
  });

  afterAll(async () => {
    await pool?.end();
    await tracing?.shutdown();
  });

  it('puts the active span’s trace and span ids on log lines, and none outside a span', async () => {
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => lines.push(chunk) > 0) as typeof process.stderr.write;
    let ids: { traceId: string; spanId: string } | undefined;
    try {
      const logger = createLogger('tracing-test');
      logger.info('outside');
      await withSpan('logging', {}, async (span) => {
        ids = span!.spanContext();
        logger.child({ requestId: 'r-1' }).warn('inside');
      });
    } finally {
      process.stderr.write = write;
    }
    const [outside, inside] = lines.map((l) => JSON.parse(l));
    expect(outside.traceId).toBeUndefined();
    expect(ids!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(inside).toMatchObject({ msg: 'inside', requestId: 'r-1', traceId: ids!.traceId, spanId: ids!.spanId });
    const exported = await waitFor('the logging span', () => receiver.spans.find((s) => s.spanId === ids!.spanId));
    expect(exported).toMatchObject({ service: 'datapilot-tracing-test', traceId: ids!.traceId, name: 'logging' });
  });

  it('makes each SQL statement a span of the request that sent it, without its values, even after a wait', async () => {
    // Outside any span: no span (a background loop or a readiness probe starts no trace).
    await pool.query('SELECT 41 AS outside_any_span');
    const secret = (i: number) => `secret-${i}-${randomUUID()}`;
    // One connection for two requests: the second waits and is handed the connection when the first releases it.
    const requests = await Promise.all(
      [0, 1].map((i) =>
        withSpan(`request-${i}`, {}, async (span) => {
          await pool.query('SELECT $1::text AS v, pg_sleep(0.2)', [secret(i)]);
          await inTransaction(pool, (c) => c.query('SELECT length($1::text) AS n', [secret(i)]));
          return span!.spanContext().spanId;
        }),
      ),
    );
    const statements = ['SELECT $1::text AS v, pg_sleep(0.2)', 'BEGIN', 'SELECT length($1::text) AS n', 'COMMIT'];
    const sqlSpans = await waitFor('8 SQL spans', () => {
      const got = receiver.spans.filter((s) => s.attributes['db.system'] === 'postgresql');
      return got.length >= 8 ? got : undefined;
    });
    for (const requestSpanId of requests) {
      const mine = sqlSpans.filter((s) => s.parentSpanId === requestSpanId);
      expect(mine.map((s) => s.attributes['db.statement'])).toEqual(statements);
      expect(mine.map((s) => s.name)).toEqual([
        'postgresql SELECT',
        'postgresql BEGIN',
        'postgresql SELECT',
        'postgresql COMMIT',
      ]);
      expect(mine.every((s) => s.kind === KIND.CLIENT)).toBe(true);
    }
    expect(sqlSpans).toHaveLength(8);
    expect(JSON.stringify(receiver.spans)).not.toMatch(/secret-|outside_any_span/);
  });

  it('records a failure on its span: status ERROR and the exception event', async () => {
    let spanId = '';
    await expect(
      withSpan('failing', { 'test.case': 'failure' }, (span) => {
        spanId = span!.spanContext().spanId;
        throw new DataPilotError('CONFLICT', 'Already there.');
      }),
    ).rejects.toThrow('Already there.');
    const span = await waitFor('the failing span', () => receiver.spans.find((s) => s.spanId === spanId));
    expect(span.attributes).toEqual({ 'test.case': 'failure' });
    expect(span.status).toEqual({ code: STATUS_ERROR, message: 'Already there.' });
    expect(span.events).toHaveLength(1);
    expect(span.events[0]).toMatchObject({
      name: 'exception',
      attributes: { 'exception.message': 'Already there.' },
    });
  });

  it('loads no OpenTelemetry package when no endpoint is set', async () => {
    // A fresh process: which CommonJS modules (every @opentelemetry package is one) are loaded after startTracing.
    const probe = `
      import { createRequire } from 'node:module';
      import { startTracing } from '@datapilot/common';
      const t = await startTracing('probe');
      const otel = Object.keys(createRequire(import.meta.url).cache)
        .map((f) => /node_modules\\/(@opentelemetry\\/[^/]+)\\//.exec(f)?.[1]).filter(Boolean);
      console.log(JSON.stringify({ enabled: t.enabled, packages: [...new Set(otel)].sort() }));
      await t.shutdown();`;
    const run = async (env: Record<string, string>) => {
      const base = Object.fromEntries(Object.entries(savedEnv).filter(([k]) => !k.startsWith('OTEL_')));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', probe],
        { cwd: REPO_ROOT, env: { ...base, ...env } },
      );
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as { enabled: boolean; packages: string[] };
    };
    const off = await run({});
    expect(off).toEqual({ enabled: false, packages: [] });
    // The same probe with an endpoint: the SDK is there (so the check above can see it).
    const on = await run({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    expect(on.enabled).toBe(true);
    expect(on.packages).toEqual(
      expect.arrayContaining([
        '@opentelemetry/api',
        '@opentelemetry/sdk-trace-node',
        '@opentelemetry/exporter-trace-otlp-http',
      ]),
    );
  }, 60_000);
});

describe('one federated request, traced from the gateway to the stores', () => {
  let stack: Stack;
  let token: string;
  let db: string;
  let stateDir: string;
  const demo = { email: 'trace@example.com', password: 'trace-password-2026', orgName: 'Trace Org' };
  const table = 'trace_numbers';

  beforeAll(async () => {
    db = await createDatabase('tracing');
    stack = await startStack({
      stateDir: (stateDir = mkdtempSync(path.join(tmpdir(), 'datapilot-tracing-'))),
      freePorts: true,
      databaseUrl: db,
      sparkRemote: process.env.SPARK_REMOTE,
      neo4jUri: process.env.NEO4J_URI,
      neo4jPassword: process.env.NEO4J_PASSWORD,
      s3: {
        endpoint: process.env.S3_ENDPOINT!,
        region: process.env.S3_REGION ?? 'us-east-1',
        accessKeyId: process.env.S3_ACCESS_KEY_ID!,
        secretAccessKey: process.env.S3_SECRET_ACCESS_KEY!,
      },
      bucket: process.env.LAKE_BUCKET,
      airflow: {
        url: process.env.AIRFLOW_URL!,
        username: process.env.AIRFLOW_USERNAME!,
        password: process.env.AIRFLOW_PASSWORD!,
      },
      demo,
      loadDemoTables: false,
      log: (m) => process.stderr.write(`[tracing] ${m}\n`),
    });
    const login = await gql(
      `${stack.gatewayUrl}/graphql`,
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
      { e: demo.email, p: demo.password },
    );
    token = login.data!.login.accessToken;
    // A gold table of three rows for the org, written straight through Spark: the lake counts it from its Delta log
    // and pages its rows with Spark.
    const spark = createSparkConnectClient({ remote: process.env.SPARK_REMOTE!, timeoutMs: 120_000 });
    const uri = s3aUri(process.env.LAKE_BUCKET!, goldTablePrefix(stack.demo.orgId, table));
    try {
      await spark.executeSql(
        randomUUID(),
        `CREATE TABLE delta.\`${uri}\` USING delta AS SELECT * FROM VALUES (1), (2), (3) AS t(n)`,
      );
    } finally {
      spark.close();
    }
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    if (db) await dropDatabase(db);
  });

  it('links gateway, subgraph and store spans under the caller’s traceparent', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const res = await fetch(`${stack.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      body: JSON.stringify({
        operationName: 'Traced',
        query:
          'query Traced { me { user { email } } lakeTables { name rowCount rows(first: 2) { edges { node } } } datasets { name } }',
      }),
    });
    const body = (await res.json()) as { data?: any; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      me: { user: { email: demo.email } },
      lakeTables: [{ name: table, rowCount: 3, rows: { edges: [{ node: { n: 1 } }, { node: { n: 2 } }] } }],
      datasets: [],
    });

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const has = (service: string, pred: (s: Received) => boolean) =>
      inTrace().some((s) => s.service === `datapilot-${service}` && pred(s));
    const spans = await waitFor('the spans of every service and store', () =>
      (['gateway', 'auth', 'lake', 'graph'] as const).every((n) => has(n, (s) => s.kind === KIND.SERVER)) &&
      has('auth', (s) => s.attributes['db.system'] === 'postgresql') &&
      has('lake', (s) => s.attributes['db.system'] === 'spark') &&
      has('graph', (s) => s.attributes['db.system'] === 'neo4j')
        ? inTrace()
        : undefined,
    );
    const server = (service: string) => {
      const found = spans.filter((s) => s.service === `datapilot-${service}` && s.kind === KIND.SERVER);
      expect(found, `${service} server spans`).toHaveLength(1);
      return found[0]!;
    };

    // The gateway continues the caller's trace: its server span's parent is the caller's span.
    const gateway = server('gateway');
    expect(gateway).toMatchObject({ name: 'POST /graphql', parentSpanId: callerSpanId });
    expect(gateway.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/graphql',
      'http.response.status_code': 200,
      'graphql.operation.name': 'Traced',
    });

    // Each subgraph's server span is a child of the gateway's fetch span for that subgraph, itself under the
    // gateway's server span (through @apollo/gateway's gateway.request / gateway.execute spans).
    for (const name of ['auth', 'lake', 'graph']) {
      const sub = server(name);
      expect(sub.name).toBe('POST /graphql');
      const parent = spans.find((s) => s.spanId === sub.parentSpanId);
      expect(parent, `${name}'s parent`).toMatchObject({
        service: 'datapilot-gateway',
        name: 'gateway.fetch',
        attributes: { service: name },
      });
      expect(lineage(spans, parent!).map((s) => s.name)).toEqual(
        expect.arrayContaining(['gateway.fetch', 'gateway.execute', 'gateway.request', 'POST /graphql']),
      );
      expect(lineage(spans, parent!).at(-1)).toBe(gateway);
    }
    // Only the three subgraphs the operation needs took part.
    expect(new Set(spans.map((s) => s.service))).toEqual(
      new Set(['datapilot-gateway', 'datapilot-auth', 'datapilot-lake', 'datapilot-graph']),
    );

    // Store statements: CLIENT spans inside the subgraph that ran them, under its server span.
    const statements = (service: string, system: string) => {
      const found = spans.filter((s) => s.service === `datapilot-${service}` && s.attributes['db.system'] === system);
      for (const s of found) {
        expect(s.kind).toBe(KIND.CLIENT);
        expect(lineage(spans, s)).toContain(server(service));
        expect(s.name.startsWith(`${system} `)).toBe(true);
      }
      return found.map((s) => String(s.attributes['db.statement']));
    };
    const sql = statements('auth', 'postgresql');
    expect(sql.length).toBeGreaterThan(0);
    expect(sql.some((q) => /^\s*SELECT\b/i.test(q))).toBe(true);
    const spark = statements('lake', 'spark');
    expect(spark.some((q) => /\bORDER BY\b/i.test(q) && q.includes(table))).toBe(true);
    const cypher = statements('graph', 'neo4j');
    expect(cypher.some((q) => q.includes(':Dataset'))).toBe(true);
    // Parameter values stay out: the org id is a parameter of every SQL and Cypher statement here.
    expect(JSON.stringify([...sql, ...cypher])).not.toContain(stack.demo.orgId);

    // Statements outside a request (the run watcher's polling, readiness probes) started no trace of their own.
    const rootStatements = receiver.spans.filter((s) => s.attributes['db.system'] && !s.parentSpanId);
    expect(rootStatements).toEqual([]);
    expect([...receiver.contentTypes]).toEqual(['application/json']);
  }, 120_000);
});
