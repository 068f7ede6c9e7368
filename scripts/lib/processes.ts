import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { isPortOpen } from '../../infra/net.ts';

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

/** A child process of the stack, with its log file. */
export type Child = { name: string; proc: ChildProcess; logFile: string; stop(): Promise<void> };

/**
 * Spawns a TypeScript entry point (`node --import tsx <file>`) with `env`, logging to
 * `<logDir>/<name>.log`; resolves when it listens on `port` (timeout 60 s).
 */
export async function spawnService(opts: {
  name: string;
  entry: string;
  env: Record<string, string>;
  port: number;
  logDir: string;
  cwd: string;
}): Promise<Child> {
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = path.join(opts.logDir, `${opts.name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(process.execPath, ['--import', 'tsx', opts.entry], {
    cwd: opts.cwd,
    // The AWS SDK warns on Node 20 at every start; its versions are pinned (package.json) to ones that support it.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  let exited = false;
  proc.once('exit', () => (exited = true));
  try {
    await waitForPort(opts.name, '127.0.0.1', opts.port, 60_000, () => !exited);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}; see ${logFile}`);
  }
  return {
    name: opts.name,
    proc,
    logFile,
    stop: () =>
      new Promise<void>((resolve) => {
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
