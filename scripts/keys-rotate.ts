// `npm run keys:rotate`: schedules a rotation of the access-token signing key (subgraphs/auth/src/keys.ts).
//   npm run keys:rotate                        publish a new key now; it signs AUTH_KEY_PUBLISH_LEAD_SECONDS later
//   npm run keys:rotate -- --lead-seconds 900  the same with another lead (seconds)
//   npm run keys:rotate -- --status            list the keys and their states, change nothing
// Reads DATABASE_URL (default: the embedded PostgreSQL of `npm start`, on POSTGRES_PORT), AUTH_KEY_ENCRYPTION_KEY,
// AUTH_KEY_PUBLISH_LEAD_SECONDS and ACCESS_TOKEN_TTL_SECONDS like the auth service (give it the same values).
// Running auth replicas need no restart: each reads the new key within its check interval and switches on time.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ConfigError, DEFAULT_PORTS, devDatabaseUrl, int, loadConfig, pendingMigrations, str } from '@datapilot/common';
import {
  AUTH_SERVICE_CONFIG,
  MIGRATIONS_DIR,
  listSigningKeys,
  scheduleKeyRotation,
  type SigningKeyInfo,
} from '@datapilot/auth';

const fail = (msg: string): never => {
  process.stderr.write(`keys:rotate: ${msg}\n`);
  process.exit(1);
};

let args;
try {
  args = parseArgs({ options: { status: { type: 'boolean' }, 'lead-seconds': { type: 'string' } } }).values;
} catch (e) {
  fail(`${(e as Error).message}\nusage: npm run keys:rotate [-- --status | --lead-seconds N]`);
}

let config;
try {
  // `npm start` runs its embedded PostgreSQL on POSTGRES_PORT: the default URL follows it.
  const { POSTGRES_PORT } = loadConfig({
    POSTGRES_PORT: int('port of the embedded PostgreSQL of npm start', DEFAULT_PORTS.postgres, 1, 65535),
  });
  config = loadConfig({
    DATABASE_URL: devDatabaseUrl(
      str('PostgreSQL URL of the auth database', `postgres://postgres:postgres@127.0.0.1:${POSTGRES_PORT}/postgres`),
    ),
    AUTH_KEY_ENCRYPTION_KEY: AUTH_SERVICE_CONFIG.AUTH_KEY_ENCRYPTION_KEY,
    AUTH_KEY_PUBLISH_LEAD_SECONDS: AUTH_SERVICE_CONFIG.AUTH_KEY_PUBLISH_LEAD_SECONDS,
    ACCESS_TOKEN_TTL_SECONDS: AUTH_SERVICE_CONFIG.ACCESS_TOKEN_TTL_SECONDS,
  });
} catch (e) {
  fail(e instanceof ConfigError ? e.message : String(e));
}
const cfg = config!;
let lead = cfg.AUTH_KEY_PUBLISH_LEAD_SECONDS;
try {
  const given = args!['lead-seconds'];
  if (given !== undefined)
    lead = int('publish lead of this rotation, in seconds', lead, 0, 7 * 86_400).parse(given, '--lead-seconds');
} catch (e) {
  fail((e as Error).message);
}

const iso = (d: Date | null) => (d ? d.toISOString().replace('.000Z', 'Z') : '-');
function table(keys: SigningKeyInfo[]): string {
  const rows = [
    ['kid', 'state', 'signs from', 'signs until', 'in JWKS until', 'private key'],
    ...keys.map((k) => [
      k.kid,
      k.state,
      iso(k.activatesAt),
      iso(k.retiredAt),
      iso(k.unpublishAt),
      k.hasPrivateKey ? 'sealed' : 'erased',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const pool = new pg.Pool({ connectionString: cfg.DATABASE_URL, max: 1 });
try {
  const pending = await pendingMigrations(pool, 'auth', MIGRATIONS_DIR);
  if (pending.length)
    fail(`the auth schema lacks migrations ${pending.join(', ')}: start the auth service once (it applies them)`);
  if (!args!.status) {
    const r = await scheduleKeyRotation(pool, { encryptionKey: cfg.AUTH_KEY_ENCRYPTION_KEY, publishLeadSeconds: lead });
    const when = `${iso(r.activatesAt)} (in ${Math.max(0, Math.round((r.activatesAt.getTime() - Date.now()) / 1000))} s)`;
    process.stdout.write(
      r.created
        ? `scheduled: key ${r.kid} is in the JWKS now and signs from ${when}\n`
        : `a rotation is already scheduled: key ${r.kid} signs from ${when}; nothing changed\n`,
    );
  }
  process.stdout.write(
    table(await listSigningKeys(pool, { accessTokenTtlSeconds: cfg.ACCESS_TOKEN_TTL_SECONDS })) + '\n',
  );
} catch (e) {
  const refused = (e as { code?: unknown }).code === 'ECONNREFUSED';
  fail(
    refused
      ? `${(e as Error).message}: no PostgreSQL answers there; start the stack (npm start, with the same POSTGRES_PORT) ` +
          'or set DATABASE_URL to the auth database'
      : (e as Error).message,
  );
} finally {
  await pool.end();
}
