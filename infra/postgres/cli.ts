/**
 * Starts a local PostgreSQL by hand and keeps it running until Ctrl-C / SIGTERM (then a fast shutdown).
 *
 *   npx tsx infra/postgres/cli.ts embedded [--port 5433] [--data-dir .local/data/postgres-embedded]
 *   npx tsx infra/postgres/cli.ts system   [--port 5433] [--data-dir .local/data/postgres-system] [--bin-dir DIR]
 *
 * Options: `--port` TCP port on 127.0.0.1 (default 5433, 0 = a free one); `--data-dir` cluster directory
 * (default `.local/data/postgres-<flavour>` under the repository: one per flavour because their major
 * versions differ, beside the stack's cluster `.local/data/postgres`, not inside it); `--user` / `--password`
 * the superuser set at initialisation (default postgres/postgres);
 * `--quiet` hides the server's log lines. Prints the connection URL as `DATABASE_URL=...` on stdout.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres, startSystemPostgres, type RunningPostgres } from './index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '5433' },
      'data-dir': { type: 'string' },
      'bin-dir': { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const flavour = positionals[0];
  if (values.help || (flavour !== 'embedded' && flavour !== 'system')) {
    process.stderr.write(
      'usage: tsx infra/postgres/cli.ts embedded|system [--port N] [--data-dir DIR] [--bin-dir DIR] [--user U] [--password P] [--quiet]\n',
    );
    process.exit(values.help ? 0 : 2);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${values.port} is not a port number`);
  const dataDir = path.resolve(values['data-dir'] ?? path.join(repoRoot, '.local', 'data', `postgres-${flavour}`));
  const log = values.quiet ? undefined : (line: string) => process.stderr.write(`[postgres] ${line}\n`);
  const opts = { port, dataDir, log, user: values.user, password: values.password };
  const pg: RunningPostgres =
    flavour === 'embedded'
      ? await startEmbeddedPostgres(opts)
      : await startSystemPostgres({ ...opts, binDir: values['bin-dir'] });
  process.stdout.write(`DATABASE_URL=${pg.url}\n`);
  process.stderr.write(
    `PostgreSQL ${pg.majorVersion} (${flavour}) ready in ${pg.startMs} ms${pg.initialised ? ' (new cluster)' : ''}; data in ${pg.dataDir}. Ctrl-C stops it.\n`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    pg.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`stop failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Keep the event loop alive (the system server is a daemon, not a child of this process).
  setInterval(() => undefined, 1 << 30);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
