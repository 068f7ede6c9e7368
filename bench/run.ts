/**
 * `npm run bench [name …] [--quick]`: every benchmark of `bench/`, one after the other, into `bench/RESULTS.md`.
 *
 * 1. Builds the services (`npm run build`: the benchmarks measure the compiled JavaScript, scripts/lib/build.ts).
 * 2. Makes sure the engines run (bench/lib/engines.ts: from the environment, else started here and stopped at the
 *    end).
 * 3. Runs each `bench/<name>.ts` (gateway, subscriptions, lake, chat, pipeline: those that exist, or those named) as
 *    a child process with the engines' variables, bounded in time (`BENCH_TIMEOUT_S`, default 420 s, 300 s with
 *    `--quick`; `--quick` and BENCH_QUICK=1 pass through), its output shown and kept in `.local/bench/<name>.log`.
 * 4. Measures the stack's memory (scripts/lib/memory.ts): a stack of the compiled services on these engines (a fresh
 *    database), up and ready, with the engines as the benchmarks left them (`--no-memory` skips it).
 * 5. Gathers the results each benchmark wrote in this run (`.local/bench/<name>.json`, bench/lib/report.ts) into
 *    `bench/RESULTS.md`: the machine line, every table with its notes, the stack's memory; prints a summary.
 * Exits 1 when a benchmark failed or ran out of time (its row says which), 2 on a bad argument.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestDatabase } from '../infra/postgres/testing.ts';
import { buildServices } from '../scripts/lib/build.ts';
import {
  enginePortsFromEnv,
  formatStackMemory,
  measureStackMemory,
  stackMemoryTable,
  STACK_MEMORY_BUDGET_BYTES,
  type StackMemory,
} from '../scripts/lib/memory.ts';
import { ensureEngines } from './lib/engines.ts';
import { BENCH_OUT_DIR, machineInfo, markdownTable, type MachineInfo, type ResultTable } from './lib/report.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** The benchmarks, in the order they run. */
const BENCHES = ['gateway', 'subscriptions', 'lake', 'chat', 'pipeline'] as const;
const RESULTS_FILE = path.join(REPO, 'bench', 'RESULTS.md');

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** What a benchmark's JSON holds (bench/lib/report.ts writeResult). */
type Result = {
  name: string;
  at: string;
  machine: MachineInfo;
  quick?: boolean;
  tables: ResultTable[];
  data: unknown;
};
/** How one benchmark's run went. */
type Outcome = {
  name: string;
  /** `earlier`: not run now; its section is its last full run's (a partial run rewrites only its own sections). */
  status: 'ok' | 'failed' | 'timeout' | 'earlier';
  code: number | null;
  seconds: number;
  result?: Result;
  logFile: string;
};

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const measureMemory = !args.includes('--no-memory');
const named = args.filter((a) => !a.startsWith('--'));
const unknown = named.filter((n) => !(BENCHES as readonly string[]).includes(n));
if (unknown.length) {
  log(`unknown benchmark(s): ${unknown.join(', ')} (one of ${BENCHES.join(', ')})`);
  process.exit(2);
}
const selected = BENCHES.filter((b) => (named.length ? named.includes(b) : true)).filter((b) =>
  existsSync(path.join(REPO, 'bench', `${b}.ts`)),
);
const missing = named.filter((n) => !existsSync(path.join(REPO, 'bench', `${n}.ts`)));
if (missing.length) log(`no bench/<name>.ts for: ${missing.join(', ')} (skipped)`);
const boundS = Number(process.env.BENCH_TIMEOUT_S ?? (quick ? 300 : 420));

/**
 * Runs `bench/<name>.ts` as a child (tsx), its output on ours and in `<BENCH_OUT_DIR>/<name>.log`; SIGTERM after
 * `boundS` seconds, SIGKILL 10 s later.
 */
/**
 * The last full run of a benchmark not run now (`<BENCH_OUT_DIR>/<name>.json`, if any and not a `--quick` one; a
 * result without the `quick` field predates it and is taken as full), so that `npm run bench -- lake` refreshes the lake's section and keeps the others.
 */
function earlierOutcome(name: string): Outcome | undefined {
  const file = path.join(BENCH_OUT_DIR, `${name}.json`);
  if (!existsSync(file)) return undefined;
  try {
    const result = JSON.parse(readFileSync(file, 'utf8')) as Result;
    if (result.quick) return undefined;
    return { name, status: 'earlier', code: null, seconds: 0, result, logFile: file };
  } catch {
    return undefined;
  }
}

async function runBench(name: string, env: Record<string, string>): Promise<Outcome> {
  mkdirSync(BENCH_OUT_DIR, { recursive: true });
  const logFile = path.join(BENCH_OUT_DIR, `${name}.log`);
  const out = createWriteStream(logFile);
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('bench', `${name}.ts`), ...(quick ? ['--quick'] : [])],
    {
      cwd: REPO,
      env: { ...process.env, ...env, ...(quick ? { BENCH_QUICK: '1' } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  for (const [stream, target] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    stream.on('data', (chunk: Buffer) => {
      target.write(chunk);
      out.write(chunk);
    });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    log(`${name}: over its ${boundS} s bound; stopping it`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }, boundS * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  out.end();
  const seconds = (Date.now() - started) / 1000;
  // Only a result written during this run counts (an older file is another run's).
  const file = path.join(BENCH_OUT_DIR, `${name}.json`);
  let result: Result | undefined;
  if (existsSync(file) && statSync(file).mtimeMs >= started) {
    try {
      result = JSON.parse(readFileSync(file, 'utf8')) as Result;
    } catch (e) {
      log(`${name}: unreadable ${file}: ${(e as Error).message}`);
    }
  }
  const status = timedOut ? 'timeout' : code === 0 ? 'ok' : 'failed';
  return { name, status, code, seconds, result, logFile };
}

/**
 * The stack's memory: auth, chat, lake, graph and the gateway (compiled) started on the benchmarks' engines, ready,
 * then every engine's and service's process tree measured (engines started here are this process's descendants;
 * the others are found by the port of their address).
 */
async function stackMemory(env: Record<string, string>): Promise<StackMemory> {
  const { startStack } = await import('../scripts/stack.ts');
  const db = await startTestDatabase({ databaseUrl: env.DATABASE_URL });
  const stack = await startStack({
    stateDir: path.join(REPO, '.local', 'bench', 'stack'),
    freePorts: true,
    databaseUrl: db.url,
    sparkRemote: env.SPARK_REMOTE,
    neo4jUri: env.NEO4J_URI,
    neo4jUser: env.NEO4J_USER,
    neo4jPassword: env.NEO4J_PASSWORD,
    s3: {
      endpoint: env.S3_ENDPOINT!,
      region: env.S3_REGION ?? 'us-east-1',
      accessKeyId: env.S3_ACCESS_KEY_ID!,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY!,
    },
    bucket: env.LAKE_BUCKET,
    airflow: { url: env.AIRFLOW_URL!, username: env.AIRFLOW_USERNAME!, password: env.AIRFLOW_PASSWORD! },
    demo: { email: 'bench-memory@example.com', password: 'bench-memory-pass-1', orgName: 'Bench memory' },
    loadDemoTables: false,
    log: (m) => log(`stack: ${m}`),
  }).catch(async (e: unknown) => {
    await db.close();
    throw e;
  });
  try {
    await new Promise((r) => setTimeout(r, 3_000));
    return measureStackMemory({ ports: enginePortsFromEnv(env) });
  } finally {
    await stack.stop();
    await db.close();
  }
}

const mib = (b: number) => (b / 2 ** 20).toFixed(0);

/** `bench/RESULTS.md`: the machine line, a summary, every benchmark's tables and notes, the stack's memory. */
function resultsMarkdown(
  outcomes: Outcome[],
  memory: StackMemory | undefined,
  machine: MachineInfo,
  loadEnd: number[],
  enginesStarted: string[],
): string {
  const lines: string[] = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench${quick ? ' -- --quick' : ''}\` (bench/run.ts) on ${new Date().toISOString()}; ` +
      `${quick ? 'quick smoke run (`--quick`): small samples, not for the README' : 'full run'}.`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `load average ${machine.loadavg.join(' / ')} at the start, ${loadEnd.join(' / ')} at the end (1/5/15 min). ` +
      `Services: the compiled build (dist/<service>/main.js). Engines: ${
        enginesStarted.length ? `started for the run (${enginesStarted.join(', ')})` : 'from the environment'
      }.`,
    '',
    markdownTable(
      ['benchmark', 'status', 'time (s)', 'tables'],
      outcomes.map((o) => [
        o.name,
        o.status === 'ok'
          ? 'ok'
          : o.status === 'earlier'
            ? `earlier run (${o.result!.at.slice(0, 10)})`
            : `**${o.status}**${o.code !== null ? ` (exit ${o.code})` : ''}`,
        o.status === 'earlier' ? '—' : o.seconds.toFixed(0),
        String(o.result?.tables.length ?? 0),
      ]),
    ),
  ];
  for (const o of outcomes) {
    lines.push('', `## ${o.name}`, '');
    if (!o.result) {
      lines.push(`No result (${o.status}); its output: \`${path.relative(REPO, o.logFile)}\`.`);
      continue;
    }
    const m = o.result.machine;
    lines.push(`Measured ${o.result.at}; load average then ${m.loadavg.join(' / ')}.`);
    for (const t of o.result.tables) {
      lines.push('', `### ${t.title}`, '', t.markdown);
      for (const n of t.notes ?? []) lines.push('', n);
    }
  }
  if (memory) {
    lines.push(
      '',
      '## Stack memory',
      '',
      `The engines and the five compiled services, up and ready after the benchmarks (scripts/lib/memory.ts, from ` +
        `/proc): RSS counts pages shared between processes once per process (an upper bound), PSS shares them out.`,
      '',
      stackMemoryTable(memory),
      '',
      `Total RSS ${(memory.rssBytes / 1e9).toFixed(2)} GB against the ${(STACK_MEMORY_BUDGET_BYTES / 1e9).toFixed(1)} ` +
        `GB budget. These engines are the benchmarks' (test/global-setup.ts or the environment's: Spark's driver ` +
        `heap 2g); \`npm start\` caps its embedded engines lower (scripts/stack.ts EMBEDDED_ENGINE_MEMORY) and ` +
        `prints the same measurement once it is up.`,
    );
  }
  return lines.join('\n') + '\n';
}

const t0 = Date.now();
const machine = machineInfo();
log(
  `benchmarks: ${selected.join(', ') || '(none)'}${quick ? ' (--quick)' : ''}; each bounded to ${boundS} s; ` +
    `load average ${machine.loadavg.join(' / ')}`,
);
log('building the services (dist/)');
try {
  await buildServices({ log: (m) => log(`build: ${m}`) });
} catch (e) {
  log(`build failed: ${(e as Error).message}`);
  process.exit(1);
}
let engines: Awaited<ReturnType<typeof ensureEngines>>;
try {
  engines = await ensureEngines(log);
} catch (e) {
  log(`engines failed to start: ${(e as Error).message}`);
  process.exit(1);
}
const outcomes: Outcome[] = [];
let memory: StackMemory | undefined;
const stopEngines = async () => {
  await engines.stop().catch((e: Error) => log(`stopping the engines: ${e.message}`));
};
process.once('SIGINT', () => {
  log('interrupted; stopping');
  void stopEngines().then(() => process.exit(130));
});
try {
  for (const [i, name] of selected.entries()) {
    log(`(${i + 1}/${selected.length}) ${name}: starting`);
    const o = await runBench(name, engines.env);
    outcomes.push(o);
    log(`(${i + 1}/${selected.length}) ${name}: ${o.status} in ${o.seconds.toFixed(0)} s`);
  }
  if (measureMemory) {
    log('measuring the stack’s memory (the compiled services on these engines)');
    try {
      memory = await stackMemory(engines.env);
      for (const l of formatStackMemory(memory)) log(l);
    } catch (e) {
      log(`stack memory not measured: ${(e as Error).message}`);
    }
  }
} finally {
  await stopEngines();
}
if (!quick)
  for (const name of BENCHES.filter((b) => !selected.includes(b))) {
    const earlier = earlierOutcome(name);
    if (earlier) outcomes.push(earlier);
  }
outcomes.sort((a, b) => BENCHES.indexOf(a.name as never) - BENCHES.indexOf(b.name as never));
const loadEnd = loadavg().map((l) => Math.round(l * 100) / 100);
writeFileSync(RESULTS_FILE, resultsMarkdown(outcomes, memory, machine, loadEnd, engines.started));
process.stderr.write(
  [
    '',
    `Benchmarks (${((Date.now() - t0) / 1000).toFixed(0)} s in all; load average ${loadEnd.join(' / ')}):`,
    ...outcomes.map(
      (o) =>
        `  ${o.name.padEnd(14)} ${o.status.padEnd(8)} ${o.seconds.toFixed(0).padStart(4)} s  ` +
        (o.result ? o.result.tables.map((t) => t.title).join('; ') : `see ${path.relative(REPO, o.logFile)}`),
    ),
    ...(memory
      ? [
          `  stack memory   RSS ${mib(memory.rssBytes)} MiB, PSS ${mib(memory.pssBytes)} MiB (${memory.processes} processes)`,
        ]
      : []),
    `Results: ${path.relative(REPO, RESULTS_FILE)}`,
    '',
  ].join('\n'),
);
process.exit(outcomes.every((o) => o.status === 'ok') ? 0 : 1);
