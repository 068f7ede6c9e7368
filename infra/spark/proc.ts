/** Small process helpers for the Spark setup steps: probe a tool, run a long command into a log file. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { SparkInfraError, type SparkLog } from './errors.ts';

/** What {@link probe} saw: `missing` when the executable was not found at all. */
export interface ProbeResult {
  missing: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` to completion (30 s at most) and returns its output; never throws. */
export function probe(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      resolve({
        missing: e?.code === 'ENOENT' || e?.code === 'EACCES',
        code: e ? (typeof e.code === 'number' ? e.code : -1) : 0,
        stdout: String(stdout ?? ''),
        stderr: String(stderr ?? ''),
      });
    });
  });
}

/** The last `n` lines of a text file ('' when unreadable). */
export function tailOf(file: string, n = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Options of {@link runLogged}. */
export interface RunLoggedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The command's stdout and stderr are appended here. */
  logFile: string;
  log: SparkLog;
  /** Names the step in progress lines, e.g. `pip install`. */
  label: string;
  /** Milliseconds between "still running" lines (default 20 000). */
  heartbeatMs?: number;
  /** Makes the error thrown on failure; default a SparkInfraError SETUP_FAILED (other infra folders pass theirs). */
  error?: (message: string, logFile: string) => Error;
}

/**
 * Runs a long command with its output appended to `logFile`, printing a start line, a "still running" line
 * every `heartbeatMs` and a done line with the duration. Resolves with the duration in milliseconds.
 * @throws SparkInfraError SETUP_FAILED, or what `opts.error` makes (with the log's last lines), when it exits
 *   non-zero or cannot start.
 */
export async function runLogged(cmd: string, args: string[], opts: RunLoggedOptions): Promise<number> {
  const started = Date.now();
  const fail =
    opts.error ?? ((message: string, logFile: string) => new SparkInfraError('SETUP_FAILED', message, logFile));
  const fd = openSync(opts.logFile, 'a');
  writeSync(fd, `\n$ ${cmd} ${args.join(' ')}\n`);
  opts.log(`${opts.label}: started (output in ${opts.logFile})`);
  const heartbeat = setInterval(
    () => opts.log(`${opts.label}: still running, ${Math.round((Date.now() - started) / 1000)} s`),
    opts.heartbeatMs ?? 20_000,
  );
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
      child.once('error', reject);
      child.once('exit', (c, signal) => resolve(signal ? -1 : c));
    }).catch((e: Error) => {
      throw fail(`${opts.label}: could not run ${cmd}: ${e.message}`, opts.logFile);
    });
    if (code !== 0) {
      throw fail(
        `${opts.label} failed (exit ${code}); last lines of ${opts.logFile}:\n${tailOf(opts.logFile)}`,
        opts.logFile,
      );
    }
  } finally {
    clearInterval(heartbeat);
    closeSync(fd);
  }
  const ms = Date.now() - started;
  opts.log(`${opts.label}: done in ${(ms / 1000).toFixed(1)} s`);
  return ms;
}

/**
 * Watches a long-running child: `code()` is undefined while it runs, then its exit code (-1 for a signal or a spawn
 * error); `exited` resolves when it is gone.
 */
export function trackExit(child: ChildProcess): { exited: Promise<void>; code(): number | null | undefined } {
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve();
    });
    child.once('error', () => {
      exitCode = -1;
      resolve();
    });
  });
  return { exited, code: () => exitCode };
}
