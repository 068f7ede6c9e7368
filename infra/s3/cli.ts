/**
 * `tsx infra/s3/cli.ts <command>`:
 * - `setup`: fetch the S3Proxy jar into `.local/s3proxy` (idempotent).
 * - `start [--port 9100] [--data-dir <abs path>] [--bucket <name>]`: setup if needed, run S3Proxy until Ctrl-C /
 *   SIGTERM, creating the bucket when one is named (default LAKE_BUCKET, if set). Defaults: port 9100, data in
 *   `<DATAPILOT_STATE_DIR or .local>/data/s3`, keys in `<data dir>-credentials.json`. Prints the endpoint on stdout.
 * Exit 1 with the error's message on failure.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS } from '@datapilot/common';
import { REPO_ROOT } from '../spark/paths.ts';
import { S3InfraError, defaultS3Log } from './errors.ts';
import { ensureS3ProxyInstalled } from './install.ts';
import { startS3Proxy } from './server.ts';
import { ensureBucket } from './client.ts';

const log = defaultS3Log;
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, bucket: { type: 'string' } },
});

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'setup':
      await ensureS3ProxyInstalled(log);
      return;
    case 'start': {
      await ensureS3ProxyInstalled(log);
      const stateDir = path.resolve(process.env.DATAPILOT_STATE_DIR ?? path.join(REPO_ROOT, '.local'));
      const dataDir = path.resolve(values['data-dir'] ?? path.join(stateDir, 'data', 's3'));
      const port = Number(values.port ?? DEFAULT_PORTS.s3);
      const server = await startS3Proxy({ port, dataDir, log });
      const bucket = values.bucket ?? process.env.LAKE_BUCKET;
      if (bucket) log(`bucket ${bucket}: ${(await ensureBucket(server, bucket)) ? 'created' : 'already there'}`);
      log(`access key ${server.accessKeyId}; secret in ${server.credentialsFile}`);
      process.stdout.write(`${server.endpoint}\n`);
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
      });
      log('stopping S3Proxy');
      await server.stop();
      return;
    }
    default:
      throw new Error('usage: tsx infra/s3/cli.ts setup | start [--port N] [--data-dir P] [--bucket NAME]');
  }
}

main(positionals[0]).catch((e: unknown) => {
  log(`failed${e instanceof S3InfraError ? ` (${e.code})` : ''}: ${(e as Error).message}`);
  process.exit(1);
});
