/**
 * `tsx infra/spark/cli.ts <command>`:
 * - `setup`: install pyspark into `.local/venv` and resolve the Delta jars (idempotent).
 * - `start [--port 15002] [--lake-root <abs path>] [--driver-memory 2g]`: run a Spark Connect server with Delta
 *   until Ctrl-C / SIGTERM. Defaults: SPARK_CONNECT_PORT or 15002, LAKE_ROOT or `<repo>/.local/data/lake`.
 * - `demo --org <uuid> [--remote sc://127.0.0.1:15002] [--lake-root …]`: load the demo org through the pipeline
 *   and print its results as JSON.
 * Exit 1 with the error's message on failure.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS } from '@datapilot/common';
import { SparkInfraError, defaultSparkLog } from './errors.ts';
import { ensureSparkInstalled } from './install.ts';
import { startSparkConnect } from './connect-server.ts';
import { runDemoPipeline } from './pipeline.ts';
import { REPO_ROOT } from './paths.ts';

const log = defaultSparkLog;
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    'lake-root': { type: 'string' },
    'driver-memory': { type: 'string' },
    remote: { type: 'string' },
    org: { type: 'string' },
  },
});
const lakeRoot = path.resolve(values['lake-root'] ?? process.env.LAKE_ROOT ?? path.join(REPO_ROOT, '.local/data/lake'));

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'setup':
      await ensureSparkInstalled(log);
      return;
    case 'start': {
      const port = Number(values.port ?? process.env.SPARK_CONNECT_PORT ?? DEFAULT_PORTS.sparkConnect);
      const server = await startSparkConnect({ port, lakeRoot, log, driverMemory: values['driver-memory'] });
      process.stdout.write(`${server.remote}\n`);
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
      });
      log('stopping Spark Connect');
      await server.stop();
      return;
    }
    case 'demo': {
      if (!values.org) throw new Error('demo needs --org <uuid>');
      const remote = values.remote ?? process.env.SPARK_REMOTE ?? `sc://127.0.0.1:${DEFAULT_PORTS.sparkConnect}`;
      const results = await runDemoPipeline({ remote, lakeRoot, orgId: values.org, log });
      process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      return;
    }
    default:
      throw new Error('usage: tsx infra/spark/cli.ts setup | start [--port N] [--lake-root P] | demo --org <uuid>');
  }
}

main(positionals[0]).catch((e: unknown) => {
  log(`failed${e instanceof SparkInfraError ? ` (${e.code})` : ''}: ${(e as Error).message}`);
  process.exit(1);
});
