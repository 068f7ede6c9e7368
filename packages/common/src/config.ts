/**
 * A small typed registry for environment variables: every variable is parsed and validated once,
 * at start, and a bad one is named. Only entry points (`src/main.ts`, `scripts/`) call this.
 */
import { devDatabaseUrl, developmentSecretProblem, isProduction, type DevSecret } from './production.ts';

/**
 * How one variable is read: `parse` turns the raw value (undefined when unset) into the typed one or throws
 * ConfigError; `devSecret`, set by `devSecret(spec, …)` (production.ts), marks a secret whose development values are
 * public and that production refuses.
 */
export type EnvSpec<T> = { parse(raw: string | undefined, name: string): T; doc: string; devSecret?: DevSecret };

/** Thrown at start when a variable is malformed; the message names the variable and what it wants. */
export class ConfigError extends Error {}

/** A string; `def` when unset (undefined `def` makes it required). */
export const str = (doc: string, def?: string): EnvSpec<string> => ({
  doc,
  parse(raw, name) {
    const v = raw === undefined || raw === '' ? def : raw;
    if (v === undefined) throw new ConfigError(`${name} is required: ${doc}`);
    return v;
  },
});

/** An optional string: undefined when unset. */
export const optStr = (doc: string): EnvSpec<string | undefined> => ({
  doc,
  parse: (raw) => (raw === undefined || raw === '' ? undefined : raw),
});

/** An integer within [min, max]; `def` when unset. */
export const int = (doc: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): EnvSpec<number> => ({
  doc,
  parse(raw, name) {
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new ConfigError(`${name}=${JSON.stringify(raw)} is not an integer in [${min}, ${max}]: ${doc}`);
    return n;
  },
});

/** A URL (parsed with WHATWG URL); `def` when unset. */
export const url = (doc: string, def?: string): EnvSpec<string> => ({
  doc,
  parse(raw, name) {
    const v = raw === undefined || raw === '' ? def : raw;
    if (v === undefined) throw new ConfigError(`${name} is required: ${doc}`);
    try {
      new URL(v);
    } catch {
      throw new ConfigError(`${name}=${JSON.stringify(v)} is not a URL: ${doc}`);
    }
    return v;
  },
});

/** One of `values`; `def` when unset. */
export const oneOf = <V extends string>(doc: string, values: readonly V[], def: V): EnvSpec<V> => ({
  doc,
  parse(raw, name) {
    if (raw === undefined || raw === '') return def;
    if (!(values as readonly string[]).includes(raw))
      throw new ConfigError(`${name}=${JSON.stringify(raw)} must be one of ${values.join(', ')}: ${doc}`);
    return raw as V;
  },
});

/**
 * Bytes given in base64 (RFC 4648 §4; the URL-safe alphabet of §5 is accepted too), exactly `length` of them, e.g.
 * a 32-byte key from `openssl rand -base64 32`; `def` (base64) when unset.
 */
export const base64Bytes = (doc: string, length: number, def?: string): EnvSpec<Buffer> => ({
  doc,
  parse(raw, name) {
    const v = raw === undefined || raw === '' ? def : raw.trim();
    if (v === undefined) throw new ConfigError(`${name} is required: ${doc}`);
    const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) ? Buffer.from(v, 'base64') : Buffer.alloc(0);
    if (bytes.length !== length)
      throw new ConfigError(
        `${name} must be the base64 of exactly ${length} bytes (e.g. openssl rand -base64 ${length}): ${doc}`,
      );
    return bytes;
  },
});

/**
 * Parses `env` (default `process.env`) against `spec`; returns a frozen typed object.
 * Under `NODE_ENV=production` (in `env`), a variable marked with `devSecret` that is unset (so its public default
 * would be used), holds that default, or holds a published development value is refused too, named with how to set
 * it.
 * @throws ConfigError naming every bad variable at once.
 */
export function loadConfig<S extends Record<string, EnvSpec<unknown>>>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<{ [K in keyof S]: S[K] extends EnvSpec<infer T> ? T : never }> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  const production = isProduction(env);
  for (const [name, s] of Object.entries(spec)) {
    try {
      out[name] = s.parse(env[name], name);
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    if (!production || !s.devSecret) continue;
    const problem = developmentSecretProblem(name, env[name], s.devSecret, out[name], defaultOf(s, name));
    if (problem) problems.push(problem);
  }
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(out) as never;
}

/** What `spec` gives when its variable is unset (undefined: nothing, or it is required). */
function defaultOf(spec: EnvSpec<unknown>, name: string): unknown {
  try {
    return spec.parse(undefined, name);
  } catch {
    return undefined;
  }
}

/**
 * Variables every DataPilot service reads, for `loadConfig({ ...SERVICE_CONFIG, ... })`:
 * the auth subgraph's JWKS (token verification) and the log level.
 */
export const SERVICE_CONFIG = {
  AUTH_JWKS_URL: url('JWKS of the auth subgraph', 'http://127.0.0.1:4001/.well-known/jwks.json'),
  LOG_LEVEL: oneOf('log level', ['debug', 'info', 'warn', 'error'] as const, 'info'),
};

/**
 * The PostgreSQL variables of a service that keeps its rows in schema `schema` and runs as role `role`, for
 * `loadConfig({ ...databaseConfig('chat', 'datapilot_chat'), ... })`. Two URLs on purpose: the service's requests
 * run as a role that owns no table, so the row-level security policies bind them (openServiceDatabase refuses an
 * owner, a superuser or a BYPASSRLS role); the migrations run as the schema's owner.
 */
export const databaseConfig = (schema: string, role: string) => ({
  DATABASE_URL: devDatabaseUrl(
    str(
      `PostgreSQL URL of the ${schema} subgraph's runtime role ${role} (owns no table; bound by row-level security) (required)`,
    ),
  ),
  DATABASE_MIGRATION_URL: devDatabaseUrl(
    optStr(
      `PostgreSQL URL of a role that owns schema ${schema} (or may create it), to apply its migrations at start; ` +
        'unset: migrations are applied beforehand, and the start fails when one is pending',
    ),
  ),
  DATABASE_POOL_MAX: int('largest number of PostgreSQL connections', 10, 1, 200),
});
