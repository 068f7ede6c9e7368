/**
 * A small typed registry for environment variables: every variable is parsed and validated once,
 * at start, and a bad one is named. Only entry points (`src/main.ts`, `scripts/`) call this.
 */
export type EnvSpec<T> = { parse(raw: string | undefined, name: string): T; doc: string };

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
 * Parses `env` (default `process.env`) against `spec`; returns a frozen typed object.
 * @throws ConfigError naming every bad variable at once.
 */
export function loadConfig<S extends Record<string, EnvSpec<unknown>>>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<{ [K in keyof S]: S[K] extends EnvSpec<infer T> ? T : never }> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(spec)) {
    try {
      out[name] = s.parse(env[name], name);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(out) as never;
}

/**
 * Variables every DataPilot service reads, for `loadConfig({ ...SERVICE_CONFIG, ... })`:
 * the auth subgraph's JWKS (token verification) and the log level.
 */
export const SERVICE_CONFIG = {
  AUTH_JWKS_URL: url('JWKS of the auth subgraph', 'http://127.0.0.1:4001/.well-known/jwks.json'),
  LOG_LEVEL: oneOf('log level', ['debug', 'info', 'warn', 'error'] as const, 'info'),
};
