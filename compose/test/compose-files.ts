/**
 * Reads the compose files the way Docker Compose does, for the static checks of compose.test.ts (no Docker engine
 * runs on the build machines): YAML with anchors and merge keys, an overlay merged onto the base, and `${VAR...}`
 * interpolation. Only what these files use is implemented; an unsupported form throws rather than passing unseen.
 * Rules from the Compose specification (compose-spec.io): "Merge and override" and "Interpolation".
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** `<repo>/compose`: relative paths in the compose files start here (the base file's folder). */
export const COMPOSE_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The repository root. */
export const REPO_ROOT = path.resolve(COMPOSE_DIR, '..');

/** A service as these files write it, after {@link loadCompose} normalised environment, depends_on and healthcheck. */
export type Service = {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[]; disable?: boolean; [k: string]: unknown };
  ports?: Array<string | Record<string, unknown>>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: Array<string | Record<string, unknown>>;
  restart?: string;
  deploy?: { resources?: { limits?: { memory?: string } } };
  [k: string]: unknown;
};

/** A compose file's model: its services and named volumes. */
export type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Normalises what Compose accepts in two spellings: `environment` as a list of `K=V` → a mapping of strings
 * (numbers and booleans as YAML wrote them, null → ''); `depends_on` as a list → `{ name: { condition:
 * service_started } }`; a string `command`, `entrypoint` or healthcheck `test` → the shell form Compose runs.
 */
function normalise(service: Record<string, unknown>): Service {
  const out: Record<string, unknown> = { ...service };
  const env = service.environment;
  if (Array.isArray(env)) {
    out.environment = Object.fromEntries(
      env.map((e) => {
        const s = String(e);
        const i = s.indexOf('=');
        return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
      }),
    );
  } else if (isMap(env)) {
    out.environment = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
  }
  if (Array.isArray(service.depends_on))
    out.depends_on = Object.fromEntries(service.depends_on.map((n) => [String(n), { condition: 'service_started' }]));
  for (const key of ['command', 'entrypoint'] as const)
    if (typeof service[key] === 'string') out[key] = ['/bin/sh', '-c', service[key]];
  if (isMap(service.healthcheck) && typeof service.healthcheck.test === 'string')
    out.healthcheck = { ...service.healthcheck, test: ['CMD-SHELL', service.healthcheck.test] };
  return out as Service;
}

/** Parses `compose/<file>` (anchors and `<<` merge keys resolved) and normalises each service. */
export function loadCompose(file: string): Compose {
  const doc = parse(readFileSync(path.join(COMPOSE_DIR, file), 'utf8'), { merge: true }) as Record<string, unknown>;
  if (!isMap(doc) || !isMap(doc.services)) throw new Error(`${file}: no services mapping`);
  const services = Object.fromEntries(
    Object.entries(doc.services).map(([name, s]) => [name, normalise((s ?? {}) as Record<string, unknown>)]),
  );
  return { services, volumes: isMap(doc.volumes) ? doc.volumes : undefined };
}

/** The mount target of a volume entry (short `src:dst[:mode]` or long syntax). */
function volumeTarget(v: string | Record<string, unknown>): string {
  if (typeof v !== 'string') return String(v.target);
  const parts = v.split(':');
  return parts.length === 1 ? parts[0]! : parts[1]!;
}

/** A published port's identity (host address and port, protocol) for de-duplication. */
function portKey(p: string | Record<string, unknown>): string {
  return typeof p === 'string' ? p : JSON.stringify(p);
}

/**
 * Merges `overlay` onto `base` as `docker compose -f base -f overlay` does for the keys these files use:
 * mappings (environment, depends_on, healthcheck, deploy, build) merge key by key, the overlay winning;
 * `ports` are appended (unique), `volumes` merged by mount target (the overlay's mount wins); every other value,
 * `command` and `entrypoint` included, is replaced by the overlay's.
 */
export function mergeCompose(base: Compose, overlay: Compose): Compose {
  const mergeValue = (key: string, a: unknown, b: unknown): unknown => {
    if (b === undefined) return a;
    if (a === undefined) return b;
    if (key === 'ports' && Array.isArray(a) && Array.isArray(b)) {
      const seen = new Set(a.map(portKey));
      return [...a, ...b.filter((p) => !seen.has(portKey(p)))];
    }
    if (key === 'volumes' && Array.isArray(a) && Array.isArray(b)) {
      const byTarget = new Map<string, unknown>();
      for (const v of [...a, ...b]) byTarget.set(volumeTarget(v), v);
      return [...byTarget.values()];
    }
    if (isMap(a) && isMap(b)) {
      const out: Record<string, unknown> = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = mergeValue(k, a[k], v);
      return out;
    }
    return b;
  };
  const services: Record<string, Service> = { ...base.services };
  for (const [name, s] of Object.entries(overlay.services))
    services[name] = mergeValue('', base.services[name] ?? {}, s) as Service;
  return { services, volumes: { ...base.volumes, ...overlay.volumes } };
}

/** One `${...}` or `$NAME` reference of Compose interpolation. */
export type Reference = {
  name: string;
  /** '' for `${NAME}` / `$NAME`; else the operator: `:-`, `-` (default), `:?`, `?` (required), `:+`, `+`. */
  op: '' | ':-' | '-' | ':?' | '?' | ':+' | '+';
  /** The default, error message or replacement. */
  arg: string;
  /** The reference as written. */
  text: string;
};

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?|:\+|\+)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** The interpolation references in `value` (`$$` is a literal `$` and no reference). */
export function references(value: string): Reference[] {
  const out: Reference[] = [];
  for (const m of value.matchAll(REFERENCE)) {
    if (m[0] === '$$') continue;
    if (m[4]) out.push({ name: m[4], op: '', arg: '', text: m[0] });
    else out.push({ name: m[1]!, op: (m[2] ?? '') as Reference['op'], arg: m[3] ?? '', text: m[0] });
  }
  return out;
}

/**
 * `value` as Compose interpolates it when no variable is exported (`$$` → `$`, `${X:-d}` → `d`), so what a
 * development start with an empty environment gives the container.
 * @param required what a required reference (`${X:?...}`) stands for; when omitted, such a reference throws.
 * @throws Error for a required reference without `required`: it stops such a start.
 */
export function resolveUnset(value: string, required?: string): string {
  return value.replace(REFERENCE, (whole, braced?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$';
    if (op === ':-' || op === '-') return arg ?? '';
    if (op === ':?' || op === '?') {
      if (required === undefined) throw new Error(`${braced} is required: ${arg}`);
      return required;
    }
    return '';
  });
}

/** A published port: host address, host port, container port (each a fixed number as written). */
export type PublishedPort = { hostIp: string; published: string; target: string };

/** The published ports of a service (`ip:host:container` short syntax, or the long syntax). */
export function publishedPorts(service: Service): PublishedPort[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p !== 'string')
      return { hostIp: String(p.host_ip ?? ''), published: String(p.published ?? ''), target: String(p.target) };
    const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
    if (parts.length === 3) return { hostIp: parts[0]!, published: parts[1]!, target: parts[2]! };
    if (parts.length === 2) return { hostIp: '', published: parts[0]!, target: parts[1]! };
    return { hostIp: '', published: '', target: parts[0]! };
  });
}

/** The `--conf key=value` pairs of a spark-submit command line. */
export function sparkConfs(command: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  command.forEach((arg, i) => {
    if (arg !== '--conf') return;
    const kv = command[i + 1] ?? '';
    const eq = kv.indexOf('=');
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  });
  return out;
}
