import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPortOpen } from '../../infra/net.ts';

/** The repository root (absolute, no trailing slash). */
const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** DataPilot's Node services, each one process. */
export const SERVICES = ['gateway', 'auth', 'chat', 'lake', 'graph'] as const;
export type Service = (typeof SERVICES)[number];

/** Each service's TypeScript entry point, relative to the repository root. */
export const SERVICE_SOURCES: Record<Service, string> = {
  gateway: 'gateway/src/main.ts',
  auth: 'subgraphs/auth/src/main.ts',
  chat: 'subgraphs/chat/src/main.ts',
  lake: 'subgraphs/lake/src/main.ts',
  graph: 'subgraphs/graph/src/main.ts',
};

/** Where `npm run build` (scripts/lib/build.ts) writes a service's bundle: `<repo>/dist/<service>/main.js`. */
export function distEntry(service: Service): string {
  return path.join(ROOT, 'dist', service, 'main.js');
}

/**
 * The list of source files a build of `service` read, with their modification times at build time
 * (`dist/<service>/inputs.json`, written by scripts/lib/build.ts next to the bundle).
 */
export const BUILD_INPUTS_FILE = 'inputs.json';

/**
 * Whether `dist/<service>/main.js` exists and no file it was built from changed since (modification times of the
 * files listed in `dist/<service>/inputs.json`; a missing input counts as a change).
 */
export function isBuildFresh(service: Service): boolean {
  const entry = distEntry(service);
  const inputsFile = path.join(path.dirname(entry), BUILD_INPUTS_FILE);
  if (!existsSync(entry) || !existsSync(inputsFile)) return false;
  try {
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8')) as Record<string, number>;
    for (const [file, mtimeMs] of Object.entries(inputs)) {
      if (statSync(path.join(ROOT, file)).mtimeMs !== mtimeMs) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The entry point to spawn for `service` (absolute path): the compiled `dist/<service>/main.js` when it is built
 * and up to date with its sources (`npm run build`; scripts/lib/build.ts `ensureBuilt()`), otherwise its TypeScript
 * source `…/src/main.ts` (run with tsx by {@link spawnService}), so that a stale build never runs.
 */
export function serviceEntry(service: Service): string {
  return isBuildFresh(service) ? distEntry(service) : path.join(ROOT, SERVICE_SOURCES[service]);
}

/**
 * How to run an entry point with this Node: a `.js` file (the build) with `node --enable-source-maps` (stack
 * traces name the TypeScript sources), a `.ts` file with tsx (`node --import tsx`).
 */
export function nodeArgs(entry: string): string[] {
  return entry.endsWith('.ts') ? ['--import', 'tsx', entry] : ['--enable-source-maps', entry];
}

/** A progress printer for long steps: `[stack] message` lines on stderr. */
export type Log = (msg: string) => void;

/**
 * Waits until `host:port` accepts a TCP connection.
 * @param timeoutMs give up after this many milliseconds.
 * @throws Error naming `what`, the address and the timeout.
 */
export async function waitForPort(what: string, host: string, port: number, timeoutMs: number, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`${what} exited before it listened on ${host}:${port}`);
    if (await isPortOpen(port, 1000, host)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not listen on ${host}:${port} within ${Math.round(timeoutMs / 1000)} s`);
}

/**
 * Waits until `GET <baseUrl>/ready` answers 200 (health.ts: every required dependency answers), printing which
 * dependencies are still unavailable every 5 s.
 * @throws Error naming the dependencies still unavailable after `timeoutMs`.
 */
export async function waitForReady(what: string, baseUrl: string, timeoutMs: number, log?: Log): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting: string[] = ['(no answer yet)'];
  let lastReport = Date.now();
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(5_000) });
      const body = (await res.json()) as { checks?: Record<string, string> };
      if (res.ok) return;
      waiting = Object.entries(body.checks ?? {})
        .filter(([, state]) => state !== 'ok')
        .map(([name]) => name);
    } catch {
      waiting = ['(no answer yet)'];
    }
    if (Date.now() - lastReport >= 5_000) {
      log?.(`waiting for ${what} to be ready: ${waiting.join(', ')} unavailable`);
      lastReport = Date.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `${what} was not ready within ${Math.round(timeoutMs / 1000)} s: ${waiting.join(', ')} unavailable (see ${baseUrl}/ready)`,
  );
}

/** A child process of the stack, with its log file. */
export type Child = { name: string; proc: ChildProcess; logFile: string; stop(): Promise<void> };

/**
 * What a service wrote to its log from byte `from` on (this start's output), without stack frames: its last `max`
 * lines, which say why it stopped (e.g. production mode's "Invalid configuration" and each refused variable).
 */
function lastWords(logFile: string, from: number, max = 8): string[] {
  let text: string;
  try {
    text = readFileSync(logFile).subarray(from).toString('utf8');
  } catch {
    return [];
  }
  const noise = [/^\s+at /, /^Node\.js v/, /^\s*\^+\s*$/];
  return text
    .split('\n')
    .filter((l) => l.trim() && !noise.some((n) => n.test(l)))
    .slice(-max);
}

/**
 * Spawns a service's entry point ({@link nodeArgs}: compiled `.js` with `node --enable-source-maps`, TypeScript
 * `.ts` with `node --import tsx`) with `env`, logging to
 * `<logDir>/<name>.log`; resolves when it listens on `port` (timeout 60 s).
 * @param opts.log where to say that the service exited on its own once it had started (e.g. a crash or a kill):
 *   `<name> exited unexpectedly (code …); see <log file>`. Not called for an exit asked by `stop()`.
 * @throws Error when it exits or does not listen in time, naming its log file and quoting the log's last lines
 *   (without stack frames), so that a refusal such as production mode's "Invalid configuration" reaches the console.
 */
export async function spawnService(opts: {
  name: string;
  entry: string;
  env: Record<string, string>;
  port: number;
  logDir: string;
  cwd: string;
  log?: Log;
}): Promise<Child> {
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = path.join(opts.logDir, `${opts.name}.log`);
  const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
  const out = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(process.execPath, nodeArgs(opts.entry), {
    cwd: opts.cwd,
    // The AWS SDK warns on Node 20 at every start; its versions are pinned (package.json) to ones that support it.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Both streams into one file: it ends once the process and both streams have closed (not when the first ends).
  proc.stdout?.pipe(out, { end: false });
  proc.stderr?.pipe(out, { end: false });
  proc.once('close', () => out.end());
  let exited = false;
  let started = false;
  let stopping = false;
  const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
  proc.once('exit', (code, signal) => {
    exited = true;
    const how = code === null ? `signal ${signal}` : `code ${code}`;
    if (started && !stopping) opts.log?.(`${opts.name} exited unexpectedly (${how}); see ${logFile}`);
  });
  try {
    await waitForPort(opts.name, '127.0.0.1', opts.port, 60_000, () => !exited);
  } catch (e) {
    proc.kill('SIGKILL');
    // Its output reaches the log file through pipes: wait for them to drain before quoting it.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000))]);
    const words = lastWords(logFile, logStart);
    throw new Error(
      `${(e as Error).message}; see ${logFile}${words.length ? `. Its last lines:\n  ${words.join('\n  ')}` : ''}`,
    );
  }
  started = true;
  return {
    name: opts.name,
    proc,
    logFile,
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (exited) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}
