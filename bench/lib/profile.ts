/**
 * CPU profiles of benchmarked services. Node refuses `--cpu-prof` in NODE_OPTIONS, so a service is profiled through a
 * preload module instead (`NODE_OPTIONS=--require <file>`), written by {@link cpuProfileEnv}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A CommonJS preload that profiles the process it is loaded into (node:inspector, sampling every 1 ms) and writes the
 * profile (the `.cpuprofile` JSON of Chrome DevTools / `Profiler.Profile`) to `file` when the process exits.
 */
export const cpuProfilePreload = (file: string) => `
const inspector = require('node:inspector');
const fs = require('node:fs');
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
session.post('Profiler.start');
process.on('exit', () => {
  session.post('Profiler.stop', (err, res) => {
    if (!err) fs.writeFileSync(${JSON.stringify(file)}, JSON.stringify(res.profile));
  });
});
`;

/**
 * The environment that makes service `name` write a CPU profile into directory `dir` (created) when it exits
 * (`<name>-<epoch ms>.cpuprofile`), with the preload written into `scratchDir`; `{}` when `dir` is undefined.
 */
export function cpuProfileEnv(name: string, dir: string | undefined, scratchDir: string): Record<string, string> {
  if (!dir) return {};
  mkdirSync(dir, { recursive: true });
  const preload = path.join(scratchDir, `cpu-profile-${name}.cjs`);
  writeFileSync(preload, cpuProfilePreload(path.resolve(dir, `${name}-${Date.now()}.cpuprofile`)));
  return { NODE_OPTIONS: `--require ${preload}` };
}
