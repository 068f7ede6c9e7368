/**
 * Pipeline benchmark: from a file on the client to a table the API answers, through the real path — `createUpload`
 * (a presigned PUT URL), the PUT to the object store, `completeUpload` (which starts the `datapilot_ingest` DAG run on
 * Airflow), the DAG's tasks (validate, load, quality, publish; Spark Connect writes the Delta table), until
 * `lakeTable(name)` shows the run's Delta version with the file's row count.
 *
 * Files: `seattle-weather.csv` of vega-datasets (small: 48 KB, 1,461 rows) and `flights-3m.parquet` (13 MB,
 * 3,000,000 rows; its row count read from the Parquet footer here, not from the pipeline). `--quick` (or
 * BENCH_QUICK=1): the small file only.
 *
 * Each stage is timed: upload (createUpload + PUT), trigger (completeUpload's answer), queued (the run recorded →
 * Airflow accepted it, from the run's own timestamps), scheduled (accepted → its DAG run started), each task's run
 * time (Airflow's `durationMs`), and run ended → the table queryable at its new version through the gateway.
 *
 * The stack: the compiled services (scripts/lib/build.ts, scripts/stack.ts) on the engines of the environment
 * (bench/lib/engines.ts starts them when missing), a fresh database and a fresh organization. Bounded: 2 min for the
 * small file (4 min with `--quick`), 4 min for flights-3m. Exits 1 on a broken run (a run FAILED, a wrong row count, a timeout).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetMetadata } from 'hyparquet';
import { startTestDatabase } from '../infra/postgres/testing.ts';
import { signIn } from '../scripts/lib/demo.ts';
import { startStack, type Stack } from '../scripts/stack.ts';
import { ensureEngines } from './lib/engines.ts';
import { fmt, markdownTable, writeResult } from './lib/report.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DATA = path.join(REPO, 'node_modules', 'vega-datasets', 'data');
const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const log = (msg: string) => process.stderr.write(`[pipeline] ${msg}\n`);

/** One file to load: its table, format, bytes, and the row count computed here from the file itself. */
type Case = { label: string; table: string; file: string; format: 'CSV' | 'PARQUET'; timeoutMs: number };
const CASES: Case[] = [
  {
    label: 'small',
    table: 'seattle_weather',
    file: 'seattle-weather.csv',
    format: 'CSV',
    // A shared Airflow may hold the run in its queue behind others' runs (parallelism 4).
    timeoutMs: quick ? 240_000 : 120_000,
  },
  ...(quick
    ? []
    : [
        {
          label: 'flights-3m',
          table: 'flights_3m',
          file: 'flights-3m.parquet',
          format: 'PARQUET' as const,
          timeoutMs: 240_000,
        },
      ]),
];

/** Rows of a file, computed independently of the pipeline: CSV lines after the header; Parquet's footer `num_rows`. */
function expectedRows(c: Case, body: Buffer): number {
  if (c.format === 'CSV') return body.toString('utf8').trim().split('\n').length - 1;
  const ab = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  return Number(parquetMetadata(ab).num_rows);
}

type Task = {
  name: string;
  state: string;
  durationMs: number | null;
  startedAt: string | null;
  endedAt: string | null;
};
type Run = {
  state: string;
  createdAt: string;
  queuedAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  deltaVersion: number | null;
  tasks: Task[];
  error: { code: string; message: string } | null;
};

/** A GraphQL call through the gateway; errors throw with their codes. */
async function gql<T>(stack: Stack, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${stack.gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  if (body.errors?.length)
    throw new Error(body.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
  return body.data!;
}

/** What one file's load measured (milliseconds; null when the stage did not happen). */
type Measured = {
  label: string;
  file: string;
  bytes: number;
  rows: number;
  uploadMs: number;
  triggerMs: number;
  queuedMs: number | null;
  scheduledMs: number | null;
  tasks: Record<string, number | null>;
  runMs: number | null;
  queryableAfterRunMs: number;
  totalMs: number;
  deltaVersion: number;
};

const ms = (a: string | null, b: string | null) => (a && b ? Date.parse(b) - Date.parse(a) : null);

/** Loads one file through the whole path; throws on a FAILED run, a wrong row count or the case's timeout. */
async function loadOne(stack: Stack, token: string, c: Case): Promise<Measured> {
  const body = readFileSync(path.join(DATA, c.file));
  const rows = expectedRows(c, body);
  log(`${c.file}: ${(body.length / 1e6).toFixed(1)} MB, ${rows} rows → table ${c.table}`);
  const t0 = performance.now();
  const deadline = Date.now() + c.timeoutMs;
  const { createUpload } = await gql<{
    createUpload: { url: string; headers: Record<string, string>; upload: { id: string } };
  }>(stack, token, `mutation($i: CreateUploadInput!) { createUpload(input: $i) { url headers upload { id } } }`, {
    i: { table: c.table, fileName: c.file, format: c.format, sizeBytes: body.length },
  });
  const put = await fetch(createUpload.url, {
    method: 'PUT',
    headers: createUpload.headers,
    body,
    signal: AbortSignal.timeout(c.timeoutMs),
  });
  if (put.status !== 200) throw new Error(`PUT of ${c.file} answered HTTP ${put.status}`);
  const tUploaded = performance.now();
  const { completeUpload } = await gql<{ completeUpload: { run: { id: string } } }>(
    stack,
    token,
    `mutation($id: ID!) { completeUpload(id: $id) { run { id } } }`,
    { id: createUpload.upload.id },
  );
  const tTriggered = performance.now();
  const runId = completeUpload.run.id;
  let run: Run | undefined;
  let lastState = '';
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${c.file}: the run did not end within ${c.timeoutMs / 1000} s`);
    ({ pipelineRun: run } = await gql<{ pipelineRun: Run }>(
      stack,
      token,
      `query($id: ID!) { pipelineRun(id: $id) { state createdAt queuedAt startedAt endedAt deltaVersion
         tasks { name state durationMs startedAt endedAt } error { code message } } }`,
      { id: runId },
    ));
    const state = `${run.state} ${run.tasks.map((t) => `${t.name}=${t.state}`).join(' ')}`;
    if (state !== lastState) log(`${c.file}: ${((performance.now() - t0) / 1000).toFixed(1)} s ${state}`);
    lastState = state;
    if (run.state === 'SUCCESS' || run.state === 'FAILED') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (run.state === 'FAILED') throw new Error(`${c.file}: run FAILED: ${run.error?.code} ${run.error?.message}`);
  const tEnded = performance.now();
  // Queryable: the API shows the table at the run's version, with the file's rows.
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${c.file}: the table did not show version ${run.deltaVersion} in time`);
    const { lakeTable } = await gql<{ lakeTable: { version: number; rowCount: number } | null }>(
      stack,
      token,
      `query($n: String!) { lakeTable(name: $n) { version rowCount } }`,
      { n: c.table },
    ).catch(() => ({ lakeTable: null }));
    if (lakeTable && lakeTable.version === run.deltaVersion) {
      if (lakeTable.rowCount !== rows)
        throw new Error(`${c.file}: the table has ${lakeTable.rowCount} rows, the file ${rows}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tQueryable = performance.now();
  return {
    label: c.label,
    file: c.file,
    bytes: body.length,
    rows,
    uploadMs: tUploaded - t0,
    triggerMs: tTriggered - tUploaded,
    queuedMs: ms(run.createdAt, run.queuedAt),
    scheduledMs: ms(run.queuedAt, run.startedAt),
    tasks: Object.fromEntries(run.tasks.map((t) => [t.name, t.durationMs])),
    runMs: ms(run.startedAt, run.endedAt),
    queryableAfterRunMs: tQueryable - tEnded,
    totalMs: tQueryable - t0,
    deltaVersion: run.deltaVersion!,
  };
}

const engines = await ensureEngines(log);
const db = await startTestDatabase({ databaseUrl: engines.env.DATABASE_URL });
const e = engines.env;
let stack: Stack | undefined;
let failed = false;
const results: Measured[] = [];
try {
  const demo = { email: 'bench-pipeline@example.com', password: 'bench-pipeline-pass-1', orgName: 'Bench pipeline' };
  stack = await startStack({
    stateDir: path.join(REPO, '.local', 'bench', 'pipeline-stack'),
    freePorts: true,
    databaseUrl: db.url,
    sparkRemote: e.SPARK_REMOTE,
    neo4jUri: e.NEO4J_URI,
    neo4jUser: e.NEO4J_USER,
    neo4jPassword: e.NEO4J_PASSWORD,
    s3: {
      endpoint: e.S3_ENDPOINT!,
      region: e.S3_REGION ?? 'us-east-1',
      accessKeyId: e.S3_ACCESS_KEY_ID!,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY!,
    },
    bucket: e.LAKE_BUCKET,
    airflow: { url: e.AIRFLOW_URL!, username: e.AIRFLOW_USERNAME!, password: e.AIRFLOW_PASSWORD! },
    demo,
    loadDemoTables: false,
    log: (m) => log(`stack: ${m}`),
  });
  const token = await signIn(`${stack.gatewayUrl}/graphql`, demo.email, demo.password);
  for (const c of CASES) {
    try {
      const m = await loadOne(stack, token, c);
      results.push(m);
      log(`${c.file}: queryable after ${(m.totalMs / 1000).toFixed(1)} s`);
    } catch (err) {
      failed = true;
      log(`${c.file}: ${(err as Error).message}`);
    }
  }
} catch (err) {
  failed = true;
  log(`broken run: ${(err as Error).message}`);
} finally {
  await stack?.stop();
  await db.close().catch(() => undefined);
  await engines.stop();
}

const s = (v: number | null | undefined) => fmt(v === null || v === undefined ? NaN : v / 1000, 2);
const taskNames = [...new Set(results.flatMap((r) => Object.keys(r.tasks)))];
const table = markdownTable(
  [
    'file',
    'size (MB)',
    'rows',
    'upload (s)',
    'trigger (s)',
    'queued (s)',
    'scheduled (s)',
    ...taskNames.map((t) => `${t} (s)`),
    'DAG run (s)',
    'run end → queryable (s)',
    'total (s)',
  ],
  results.map((r) => [
    r.file,
    fmt(r.bytes / 1e6, 2),
    String(r.rows),
    s(r.uploadMs),
    s(r.triggerMs),
    s(r.queuedMs),
    s(r.scheduledMs),
    ...taskNames.map((t) => s(r.tasks[t])),
    s(r.runMs),
    s(r.queryableAfterRunMs),
    s(r.totalMs),
  ]),
);
writeResult(
  'pipeline',
  [
    {
      title: 'Pipeline: upload to queryable table',
      markdown: table,
      notes: [
        'upload = createUpload + the presigned PUT; trigger = completeUpload (moves the object, records the run, ' +
          'asks Airflow); queued = the run recorded → Airflow accepted it; scheduled = accepted → its DAG run ' +
          'started; task columns = Airflow task run times; DAG run = started → ended; run end → queryable = until ' +
          '`lakeTable` answers the run’s Delta version with the file’s row count (checked against the file). ' +
          'Through the gateway, compiled services, one run each' +
          (quick ? ' (quick: the small file only).' : '.'),
        ...(failed ? ['**Broken run**: see the log above (a file did not reach a queryable table).'] : []),
      ],
    },
  ],
  { quick, results },
);
process.exit(failed ? 1 : 0);
