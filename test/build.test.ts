/**
 * The production build (scripts/lib/build.ts): one ES module per service that runs with plain `node`, imports only
 * packages the runtime image installs (`npm ci --omit=dev`), names its TypeScript sources in stack traces, and is
 * what `serviceEntry` hands to the stack while it is up to date.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from '../scripts/lib/build.ts';
import { distEntry, nodeArgs, serviceEntry, SERVICE_SOURCES, SERVICES } from '../scripts/lib/processes.ts';
import { REPO_ROOT } from '../scripts/stack.ts';

const run = promisify(execFile);

/** The bare package names a bundle imports (static, dynamic and `require` calls of bundled CommonJS). */
function importedPackages(file: string): Set<string> {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\(|__require\()"(@?[a-z0-9][\w.@/-]*)"/g)].map((m) => m[1]!);
  return new Set(
    specs
      .filter((s) => !isBuiltin(s))
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)),
  );
}

describe('npm run build', () => {
  let built: Awaited<ReturnType<typeof buildServices>>;
  beforeAll(async () => {
    built = await buildServices();
  }, 60_000);

  it('builds dist/<service>/main.js for each of the five services, and serviceEntry hands it out', () => {
    expect(built.map((b) => b.service)).toEqual([...SERVICES]);
    for (const s of SERVICES) {
      expect(built.find((b) => b.service === s)!.file).toBe(path.join(REPO_ROOT, 'dist', s, 'main.js'));
      expect(serviceEntry(s)).toBe(distEntry(s));
    }
    expect(nodeArgs(distEntry('auth'))).toEqual(['--enable-source-maps', distEntry('auth')]);
    expect(nodeArgs(SERVICE_SOURCES.auth)).toEqual(['--import', 'tsx', SERVICE_SOURCES.auth]);
  });

  it('bundles the workspace sources and leaves npm packages out, importing only production dependencies', () => {
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    for (const s of SERVICES) {
      const inputs = Object.keys(
        JSON.parse(readFileSync(path.join(REPO_ROOT, 'dist', s, 'inputs.json'), 'utf8')) as object,
      );
      expect(inputs).toContain(SERVICE_SOURCES[s]);
      expect(inputs).toContain('packages/common/src/index.ts');
      // From node_modules only packages/common's own copy of @opentelemetry/core 2.x (the root holds 1.x).
      for (const i of inputs.filter((i) => i.includes('node_modules/')))
        expect(i, s).toMatch(/^packages\/common\/node_modules\/@opentelemetry\//);
      const packages = importedPackages(distEntry(s));
      expect(packages.has('@datapilot/common'), s).toBe(false);
      expect(packages.has('graphql'), s).toBe(true);
      for (const p of packages) {
        const entry = lock.packages[`node_modules/${p}`];
        expect(entry, `${s} imports ${p}, which the lock does not install at the root`).toBeDefined();
        expect(entry!.dev, `${s} imports ${p}, a dev dependency (the runtime image omits them)`).toBeFalsy();
      }
    }
  });

  it('runs with plain node: the compiled auth service refuses a development secret in production', async () => {
    const r = await run(process.execPath, nodeArgs(distEntry('auth')), {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_ENV: 'production', AUTH_KEY_ENCRYPTION_KEY: '' },
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'AUTH_KEY_ENCRYPTION_KEY is unset, so its public development default would be used; NODE_ENV=production',
    );
  }, 30_000);

  it('resolves files next to the sources from the bundle (schema, migrations) and maps stack frames to them', () => {
    const text = readFileSync(distEntry('auth'), 'utf8');
    const rewritten = [...text.matchAll(/new URL\("([^"]+)", import\.meta\.url\)\.href/g)].map((m) => m[1]!);
    expect(rewritten).toContain('../../subgraphs/auth/src/server.ts');
    expect(rewritten).toContain('../../packages/common/src/audit.ts');
    // What server.ts reads relative to itself, from where the bundle runs.
    const server = new URL('../../subgraphs/auth/src/server.ts', pathToFileURL(distEntry('auth')));
    expect(existsSync(fileURLToPath(new URL('../schema.graphql', server)))).toBe(true);
    expect(existsSync(fileURLToPath(new URL('../migrations', server)))).toBe(true);
    // The source map names the TypeScript sources (stack traces under --enable-source-maps).
    const map = JSON.parse(readFileSync(distEntry('auth') + '.map', 'utf8')) as { sources: string[] };
    expect(map.sources).toContain('../../subgraphs/auth/src/main.ts');
  });
});
