// The stack launcher's service processes (scripts/lib/processes.ts): a service that refuses to start says why on the
// console, and one that stops while the stack runs is reported — against real child processes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../infra/net.ts';
import { spawnService } from '../scripts/lib/processes.ts';

const REPO = new URL('..', import.meta.url).pathname;

/** Writes an ES module entry point into a fresh folder; returns its path and the folder (for the logs). */
function entry(source: string): { file: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'dp-processes-'));
  const file = path.join(dir, 'main.mjs');
  writeFileSync(file, source);
  return { file, dir };
}

describe('spawnService', () => {
  it('quotes what a service that exits before it listens wrote last, without its stack frames', async () => {
    // What a service's loadConfig prints in production mode (packages/common config.ts), written by hand.
    const { file, dir } = entry(`
      console.log('an earlier line');
      const e = new Error('Invalid configuration:\\n  FOO_SECRET is unset; set FOO_SECRET to a value of your own.');
      e.name = 'ConfigError';
      throw e;
    `);
    const port = await freePort();
    const err = await spawnService({ name: 'svc', entry: file, env: {}, port, logDir: dir, cwd: REPO }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`svc exited before it listened on 127.0.0.1:${port}`);
    expect(err?.message).toContain(path.join(dir, 'svc.log'));
    expect(err?.message).toContain('FOO_SECRET is unset; set FOO_SECRET to a value of your own.');
    expect(err?.message).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('reports a service that exits on its own once started, and not one that is stopped', async () => {
    const port = await freePort();
    const { file, dir } = entry(`
      import http from 'node:http';
      http.createServer().listen(${port}, '127.0.0.1');
      if (process.env.CRASH_AFTER_MS) setTimeout(() => process.exit(3), Number(process.env.CRASH_AFTER_MS));
    `);
    const lines: string[] = [];
    const crashing = await spawnService({
      name: 'svc',
      entry: file,
      env: { CRASH_AFTER_MS: '1500' },
      port,
      logDir: dir,
      cwd: REPO,
      log: (m) => lines.push(m),
    });
    await new Promise((resolve) => crashing.proc.once('exit', resolve));
    expect(lines).toEqual([`svc exited unexpectedly (code 3); see ${path.join(dir, 'svc.log')}`]);

    lines.length = 0;
    const stopped = await spawnService({
      name: 'svc',
      entry: file,
      env: {},
      port,
      logDir: dir,
      cwd: REPO,
      log: (m) => lines.push(m),
    });
    await stopped.stop();
    expect(stopped.proc.exitCode !== null || stopped.proc.signalCode !== null).toBe(true);
    expect(lines).toEqual([]);
  }, 60_000);
});
