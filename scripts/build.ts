// `npm run build`: each service's `src/main.ts` compiled to one JavaScript file, `dist/<service>/main.js` (+ .map).
import { performance } from 'node:perf_hooks';
import { buildServices, SERVICES, type Service } from './lib/build.ts';

const log = (msg: string) => process.stderr.write(`[build] ${msg}\n`);
const args = process.argv.slice(2);
const unknown = args.filter((a) => !(SERVICES as readonly string[]).includes(a));
if (unknown.length) {
  log(`unknown service(s): ${unknown.join(', ')} (one of ${SERVICES.join(', ')})`);
  process.exit(2);
}
const t0 = performance.now();
try {
  const out = await buildServices({ services: args.length ? (args as Service[]) : undefined, log });
  log(`built ${out.length} service(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  log(`build failed: ${(e as Error).message}`);
  process.exit(1);
}
