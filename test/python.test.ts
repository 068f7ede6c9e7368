// The Python side (spark-apps/tests, orchestration/tests) run by pytest inside the vitest run, so that it gets the
// same real engines test/global-setup.ts started (S3Proxy, Spark Connect, Neo4j, PostgreSQL) through their
// variables. Every test must run: a skipped one (a missing engine) fails this file, like a failed one.
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { pythonBin, REPO_ROOT } from '../infra/spark/paths.ts';

it('pytest: spark-apps and orchestration pass against the real engines, none skipped', async () => {
  const out: string[] = [];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      pythonBin(),
      ['-m', 'pytest', '-q', '-rs', '-p', 'no:cacheprovider', 'spark-apps', 'orchestration'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, PYTHONUNBUFFERED: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
    child.on('close', (c) => resolve(c ?? -1));
  });
  const text = out.join('');
  const summary = text.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || /skipped/.test(summary)) process.stderr.write(text.slice(-20_000));
  expect(code, summary).toBe(0);
  expect(summary).toMatch(/\d+ passed/);
  expect(summary).not.toMatch(/skipped|failed|error/);
}, 900_000);
