/**
 * `tsx infra/spark/cli.ts <command>`:
 * - `setup`: install pyspark into `.local/venv` and resolve the Delta jars (idempotent).
 * - `start [--port 15002] [--driver-memory 2g]`: run a Spark Connect server with Delta until Ctrl-C / SIGTERM.
 *   Port: SPARK_CONNECT_PORT or 15002. With S3_ENDPOINT set, the server also gets s3a settings from S3_ENDPOINT,
 *   S3_REGION (default us-east-1), S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY.
 * Exit 1 with the error's message on failure.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS } from '@datapilot/common';
import { SparkInfraError, defaultSparkLog } from './errors.ts';
import { ensureSparkInstalled } from './install.ts';
import { startSparkConnect } from './connect-server.ts';

const log = defaultSparkLog;
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    'driver-memory': { type: 'string' },
  },
});

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'setup':
      await ensureSparkInstalled(log);
      return;
    case 'start': {
      const port = Number(values.port ?? process.env.SPARK_CONNECT_PORT ?? DEFAULT_PORTS.sparkConnect);
      const env = process.env;
      const s3 = env.S3_ENDPOINT
        ? {
            endpoint: env.S3_ENDPOINT,
            region: env.S3_REGION || 'us-east-1',
            accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
            secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
          }
        : undefined;
      const server = await startSparkConnect({ port, s3, log, driverMemory: values['driver-memory'] });
      process.stdout.write(`${server.remote}\n`);
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
      });
      log('stopping Spark Connect');
      await server.stop();
      return;
    }
    default:
      throw new Error('usage: tsx infra/spark/cli.ts setup | start [--port N] [--driver-memory M]');
  }
}

main(positionals[0]).catch((e: unknown) => {
  log(`failed${e instanceof SparkInfraError ? ` (${e.code})` : ''}: ${(e as Error).message}`);
  process.exit(1);
});
