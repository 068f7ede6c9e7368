// The services' production build: one ES module per service, `dist/<service>/main.js`, from its `src/main.ts`.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { build, stop, type Plugin } from 'esbuild';
import {
  BUILD_INPUTS_FILE,
  distEntry,
  isBuildFresh,
  SERVICE_SOURCES,
  SERVICES,
  type Log,
  type Service,
} from './processes.ts';

export { SERVICES, type Service } from './processes.ts';

/** The repository root (absolute, no trailing slash). */
const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const DIST = path.join(ROOT, 'dist');

/**
 * Bundles the workspace packages (`@datapilot/*`, TypeScript sources) and the repository's own files into the
 * service; leaves every other npm package external (resolved at run time from `<repo>/node_modules`, as today).
 * A package that the importing file resolves to a different copy than the repository root does (a nested
 * `node_modules`, e.g. packages/common's own @opentelemetry/core 2.x next to the root's 1.x) is bundled instead,
 * so that the service runs the copy its source was written against.
 */
function externalsPlugin(): Plugin {
  return {
    name: 'datapilot-externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'resolving') return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        if (args.path.startsWith('@datapilot/')) return undefined;
        const opts = { kind: args.kind, importer: args.importer, pluginData: 'resolving' };
        const here = await b.resolve(args.path, { ...opts, resolveDir: args.resolveDir });
        if (here.errors.length) return { errors: here.errors };
        const fromRoot = await b.resolve(args.path, { ...opts, resolveDir: ROOT });
        if (!fromRoot.errors.length && fromRoot.path === here.path) return { path: args.path, external: true };
        return { path: here.path };
      });
    },
  };
}

/**
 * Keeps file reads relative to a source file working in the bundle: every `import.meta.url` in a repository source
 * (schema.graphql, migrations, the Spark Connect proto, the supergraph, the SDK manifest, …) is replaced by that
 * source file's own URL, computed at run time from the bundle's location
 * (`new URL('../../subgraphs/auth/src/server.ts', import.meta.url).href`). The assets stay where they are in the
 * repository; the bundle needs the repository tree next to `dist/` (as the Docker image has it).
 */
function importMetaUrlPlugin(): Plugin {
  return {
    name: 'datapilot-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        // Each output is dist/<service>/main.js: two levels below the root.
        const rel = path.relative(path.join(DIST, 'service'), args.path).split(path.sep).join('/');
        return {
          contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
          loader: 'ts',
        };
      });
    },
  };
}

/** What {@link buildServices} built: per service, the bundle's path, size and the number of source files in it. */
export type BuiltService = { service: Service; file: string; bytes: number; inputs: number };

/**
 * Builds `dist/<service>/main.js` (+ `.map`, + `inputs.json`: the source files read, with their modification times,
 * for {@link isBuildFresh}) for each service: ESM, platform node, target node20, source maps. Files are written
 * atomically (temporary file + rename), so a concurrent build or a starting service never reads half a file.
 * @param opts.services which services (default all).
 * @throws Error with esbuild's messages when a service does not compile (a missing module, a syntax error).
 */
export async function buildServices(opts: { services?: readonly Service[]; log?: Log } = {}): Promise<BuiltService[]> {
  const services = opts.services ?? SERVICES;
  const t0 = performance.now();
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(services.map((s) => [`${s}/main`, path.join(ROOT, SERVICE_SOURCES[s])])),
    outdir: DIST,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    // Names stay readable in stack traces and logs (error classes' `name`, function names).
    keepNames: true,
    // CommonJS code bundled in (a nested package, see externalsPlugin) calls `require` for its own dependencies.
    banner: {
      js: "import { createRequire as __datapilotCreateRequire } from 'node:module'; const require = __datapilotCreateRequire(import.meta.url);",
    },
    metafile: true,
    write: false,
    logLevel: 'silent',
    plugins: [externalsPlugin(), importMetaUrlPlugin()],
  });
  const built: BuiltService[] = [];
  const tag = `.tmp-${process.pid}-${Date.now()}`;
  for (const f of result.outputFiles) {
    mkdirSync(path.dirname(f.path), { recursive: true });
    writeFileSync(f.path + tag, f.contents);
  }
  for (const f of result.outputFiles) renameSync(f.path + tag, f.path);
  for (const s of services) {
    const file = distEntry(s);
    const out = result.metafile.outputs[path.relative(ROOT, file).split(path.sep).join('/')];
    const inputs = Object.keys(out?.inputs ?? {});
    const stamps = Object.fromEntries(inputs.map((i) => [i, statSync(path.join(ROOT, i)).mtimeMs]));
    const inputsFile = path.join(path.dirname(file), BUILD_INPUTS_FILE);
    writeFileSync(inputsFile + tag, JSON.stringify(stamps));
    renameSync(inputsFile + tag, inputsFile);
    built.push({ service: s, file, bytes: out?.bytes ?? 0, inputs: inputs.length });
    opts.log?.(
      `${s}: ${path.relative(ROOT, file)} (${((out?.bytes ?? 0) / 1024).toFixed(0)} KiB, ${inputs.length} source files)`,
    );
  }
  opts.log?.(`compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return built;
}

/**
 * Builds the services whose bundle is missing or older than its sources ({@link isBuildFresh}); a no-op when all
 * are up to date. `npm start`, the stack of the tests and `npm run bench` call it before spawning services.
 * @returns the services built (empty when nothing was stale).
 */
export async function ensureBuilt(log?: Log): Promise<Service[]> {
  const stale = SERVICES.filter((s) => !isBuildFresh(s));
  if (!stale.length) {
    log?.('services are built and up to date (dist/)');
    return [];
  }
  log?.(`building ${stale.join(', ')} (esbuild → dist/)`);
  await buildServices({ services: stale, log });
  // esbuild's helper process would otherwise stay for the launcher's lifetime (it counts in the stack's memory).
  await stop();
  return stale;
}
