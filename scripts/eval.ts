// `npm run eval`: asks every question of the analyst's evaluation sets through the gateway, as a client would, and
// scores the answers by the rules of the sets' README (scripts/lib/eval-check.ts).
//
//   npm run eval [-- --gateway <graphql url>] [--email <e> --password <p>] [--set <file or glob>]... [--json <path>]
//                   [--concurrency <1..8>] [--timeout <seconds>]
//
// Without --gateway it starts the stack as `npm start` does (same variables, same state folder, the demo organization
// loaded; scripts/lib/stack-config.ts) and stops it at the end. Exit code: 0 when no answer was wrong or errored
// (abstentions are reported, not failed), 1 otherwise, 2 when the run could not happen (bad options, no sets, the
// stack or the sign-in failed).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, startStack, type Stack } from './stack.ts';
import { checkPrerequisites, demoUserFromEnv, stackOptionsFromEnv } from './lib/stack-config.ts';
import { evalDir, loadSet, resolveSetFiles } from './lib/eval-set.ts';
import { DEFAULT_EVAL_CONCURRENCY, DEFAULT_QUESTION_TIMEOUT_MS, runEval } from './lib/eval-run.ts';
import { countsTable, notCorrect, questionLine } from './lib/eval-report.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run eval -- [--gateway <graphql url>] [--email <email> --password <password>]
                       [--set <file or glob>]... [--json <path>] [--concurrency <1..8>] [--timeout <seconds>]
  --gateway      a running gateway (http://host:port/graphql); default: start the stack as npm start does
  --email/--password  who asks (default the demo user: DEMO_EMAIL / DEMO_PASSWORD or their development defaults)
  --set          a question file or a glob of them, repeatable (default every *.jsonl of the eval folder:
                 DATAPILOT_EVAL_DIR, else ../shared/eval beside the repository, else /work/shared/eval)
  --json         where to write the JSON report (default .local/eval/eval-<time>.json)
  --concurrency  conversations asked at once (default ${DEFAULT_EVAL_CONCURRENCY})
  --timeout      seconds an answer may take, from its admitted sendMessage, before it counts as an error
                 (default ${DEFAULT_QUESTION_TIMEOUT_MS / 1000}; waiting to be admitted, RATE_LIMITED, is bounded by as much)`;

let stopping = false;
const log = (msg: string) => {
  if (stopping && /exited (unexpectedly|on its own)/.test(msg)) return;
  process.stderr.write(`[eval] ${msg}\n`);
};
/** Ends the run: `code` after the usage or the message on stderr. */
function fail(message: string, usage = false): never {
  process.stderr.write(`[eval] ${message}\n${usage ? `${USAGE}\n` : ''}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      gateway: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      set: { type: 'string', multiple: true },
      json: { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (e) {
  fail((e as Error).message, true);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const intArg = (name: string, raw: string | undefined, def: number, min: number, max: number): number => {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} ${raw}: an integer in [${min}, ${max}]`, true);
  return n;
};
const concurrency = intArg('concurrency', args.concurrency, DEFAULT_EVAL_CONCURRENCY, 1, 8);
const timeoutSeconds = intArg('timeout', args.timeout, DEFAULT_QUESTION_TIMEOUT_MS / 1000, 1, 3600);
if ((args.email === undefined) !== (args.password === undefined)) fail('give --email and --password together', true);

// `npm run` starts in the repository root; the caller's folder is INIT_CWD (relative --set and --json are theirs).
const cwd = process.env.INIT_CWD ?? process.cwd();
let sets;
try {
  const files = resolveSetFiles(args.set ?? [], evalDir(REPO_ROOT), cwd);
  sets = files.map(loadSet);
} catch (e) {
  fail((e as Error).message);
}
const questionCount = sets.reduce((n, s) => n + s.questions.length, 0);
const jsonPath = path.resolve(
  cwd,
  args.json ?? path.join(REPO_ROOT, '.local', 'eval', `eval-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
);

/** The gateway's GraphQL URL: `--gateway` as given, `/graphql` added to a bare origin. */
function graphqlUrlOf(gateway: string): string {
  let u: URL;
  try {
    u = new URL(gateway);
  } catch {
    fail(`--gateway ${gateway}: not a URL`, true);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(`--gateway ${gateway}: an http(s) URL`, true);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/graphql';
  return u.toString();
}

let stack: Stack | undefined;
let graphqlUrl: string;
let credentials: { email: string; password: string };
let stackMs: number | null = null;
try {
  if (args.gateway) {
    graphqlUrl = graphqlUrlOf(args.gateway);
    credentials =
      args.email !== undefined ? { email: args.email, password: args.password! } : demoUserFromEnv(process.env);
  } else {
    checkPrerequisites();
    const config = stackOptionsFromEnv(process.env, REPO_ROOT, log);
    credentials = args.email !== undefined ? { email: args.email, password: args.password! } : config.demo;
    // A stack already serving on the gateway's port (npm start) holds the same ports and state folder.
    const port = config.options.ports?.gateway;
    const running = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1_000) }).then(
      () => true,
      () => false,
    );
    if (running)
      fail(
        `something already answers on :${port} (npm start?): pass --gateway http://127.0.0.1:${port}/graphql to ` +
          'ask that stack, or stop it',
      );
    const onSignal = () => {
      if (stopping) return;
      stopping = true;
      log('interrupted: stopping the stack…');
      void (stack?.stop() ?? Promise.resolve()).then(() => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const t0 = Date.now();
    log('starting the stack as npm start does (the demo organization is loaded on first start)');
    stack = await startStack(config.options);
    stackMs = Date.now() - t0;
    graphqlUrl = `${stack.gatewayUrl}/graphql`;
    log(`stack ready in ${(stackMs / 1000).toFixed(1)} s at ${graphqlUrl}`);
  }
} catch (e) {
  await stack?.stop();
  fail((e as Error).message);
}

let exitCode = 2;
try {
  log(`${questionCount} questions in ${sets.length} set(s): ${sets.map((s) => path.basename(s.file)).join(', ')}`);
  const report = await runEval({
    graphqlUrl,
    email: credentials.email,
    password: credentials.password,
    sets,
    concurrency,
    questionTimeoutMs: timeoutSeconds * 1000,
    onQuestion: (q) => process.stdout.write(`${questionLine(q)}\n`),
  });
  const details = notCorrect(report.questions);
  process.stdout.write(`\n${countsTable(report)}\n${details ? `\n${details}\n` : ''}`);
  process.stdout.write(
    `\n${report.total.questions} questions in ${(report.durationMs / 1000).toFixed(1)} s` +
      (stackMs !== null ? ` (the stack started in ${(stackMs / 1000).toFixed(1)} s before)` : '') +
      `; report: ${jsonPath}\n`,
  );
  mkdirSync(path.dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ ...report, stackStartMs: stackMs }, null, 2)}\n`);
  exitCode = report.total.wrong + report.total.error > 0 ? 1 : 0;
} catch (e) {
  log((e as Error).message);
} finally {
  if (stack) {
    stopping = true;
    log('stopping the stack');
    await stack.stop();
  }
}
process.exit(exitCode);
