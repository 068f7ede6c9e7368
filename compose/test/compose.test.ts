/**
 * Static checks of the compose stack (compose/docker-compose.{base,dev,prod}.yml, the Dockerfiles and their
 * scripts): no Docker engine runs on the build machines, so nothing here starts a container. The files are parsed,
 * each overlay merged onto the base as Docker Compose does (compose-files.ts), and the merged development and
 * production configurations checked against sources that do not come from the compose files: each service's
 * config spec (its `src/config.ts`), the Airflow task settings (orchestration/dags/datapilot_pipeline/config.py and
 * the DAG's docstring), the Spark Connect settings of infra/spark/connect-server.ts, and the ports each image
 * listens on (listed by hand below from the images' documentation and the services' commands).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type EnvSpec } from '@datapilot/common';
import { AUTH_SERVICE_CONFIG } from '../../subgraphs/auth/src/config.ts';
import { CHAT_SERVICE_CONFIG } from '../../subgraphs/chat/src/config.ts';
import { LAKE_SERVICE_CONFIG } from '../../subgraphs/lake/src/config.ts';
import { GRAPH_SERVICE_CONFIG } from '../../subgraphs/graph/src/config.ts';
import { GATEWAY_SERVICE_CONFIG } from '../../gateway/src/config.ts';
import { s3aConf, sparkConnectConf } from '../../infra/spark/connect-server.ts';
import {
  COMPOSE_DIR,
  REPO_ROOT,
  loadCompose,
  mergeCompose,
  publishedPorts,
  references,
  resolveUnset,
  sparkConfs,
  type Compose,
  type Service,
} from './compose-files.ts';

type Spec = Record<string, EnvSpec<unknown>>;

/** Each DataPilot entry point and the variables it reads (its command names the entry point). */
const ENTRY_SPECS: Record<string, Spec> = {
  'subgraphs/auth/src/main.ts': AUTH_SERVICE_CONFIG,
  'subgraphs/chat/src/main.ts': CHAT_SERVICE_CONFIG,
  'subgraphs/lake/src/main.ts': LAKE_SERVICE_CONFIG,
  'subgraphs/graph/src/main.ts': GRAPH_SERVICE_CONFIG,
  'gateway/src/main.ts': GATEWAY_SERVICE_CONFIG,
};

/** Services that run once and exit (waited for with service_completed_successfully): no health check, no restart. */
const ONE_SHOT = ['airflow-init', 'minio-init'];

/**
 * The container ports each engine listens on: PostgreSQL 5432, MinIO S3 9000 and console 9001 (its `--address`,
 * `--console-address`), Neo4j HTTP 7474 and Bolt 7687, the Spark master's RPC 7077 and UI 8080 and the worker's UI
 * 8081 (their command lines), Spark Connect 15002, Airflow's api-server 8080 and the scheduler's health server
 * 8974 (Airflow 3.3.2 config.yml defaults). DataPilot's services listen on their `<NAME>_PORT`.
 */
const ENGINE_PORTS: Record<string, string[]> = {
  postgres: ['5432'],
  minio: ['9000', '9001'],
  neo4j: ['7474', '7687'],
  'spark-master': ['7077', '8080'],
  'spark-worker': ['8081'],
  'spark-connect': ['15002'],
  'airflow-api-server': ['8080'],
  'airflow-scheduler': ['8974'],
};

/** Variables whose value is a secret: only `${VAR:?...}` references in production. */
const SECRET_NAME = /PASSWORD|SECRET|_KEY$|_KEY_|KEY_ID|_AUTH$/;
const isSecretName = (name: string) => SECRET_NAME.test(name) && !name.endsWith('_FILE');
/** An address that means "this container" inside a container. */
const LOOPBACK = /(^|[/@:])(127\.\d+\.\d+\.\d+|localhost|\[::1\])([:/]|$)/;
/** Variables meant for clients outside the stack (a loopback address is right there in development). */
const CLIENT_FACING = new Set(['S3_PUBLIC_ENDPOINT']);

const base = loadCompose('docker-compose.base.yml');
const overlays = { dev: loadCompose('docker-compose.dev.yml'), prod: loadCompose('docker-compose.prod.yml') };
const configs: Record<'dev' | 'prod', Compose> = {
  dev: mergeCompose(base, overlays.dev),
  prod: mergeCompose(base, overlays.prod),
};

/** Each service's compiled entry point (`npm run build`, scripts/lib/build.ts), by its TypeScript source. */
const BUILT_ENTRIES: Record<string, string> = {
  'dist/auth/main.js': 'subgraphs/auth/src/main.ts',
  'dist/chat/main.js': 'subgraphs/chat/src/main.ts',
  'dist/lake/main.js': 'subgraphs/lake/src/main.ts',
  'dist/graph/main.js': 'subgraphs/graph/src/main.ts',
  'dist/gateway/main.js': 'gateway/src/main.ts',
};

/**
 * The entry point a service runs (a `<dir>/src/main.ts`, or its build `dist/<service>/main.js`, in its command),
 * named by its TypeScript source, if it is a DataPilot service.
 */
const entryOf = (s: Service) => (s.command ?? []).map((a) => BUILT_ENTRIES[a] ?? a).find((a) => a in ENTRY_SPECS);
const envOf = (s: Service) => s.environment ?? {};
/** Every string of a value, recursively (what Compose interpolates). */
const strings = (v: unknown): string[] =>
  typeof v === 'string'
    ? [v]
    : Array.isArray(v)
      ? v.flatMap(strings)
      : typeof v === 'object' && v !== null
        ? Object.values(v).flatMap(strings)
        : [];
/** A spec variable's default: `{ required: true }` when it has none (parsing "unset" throws), else its value. */
function defaultOf(spec: EnvSpec<unknown>, name: string): { required: true } | { required: false; value: unknown } {
  try {
    return { required: false, value: spec.parse(undefined, name) };
  } catch {
    return { required: true };
  }
}
/** `image:tag` pinned to a full version: a tag that is not `latest` and names a release exactly. */
function fullTag(image: string): boolean {
  const m = /^([a-z0-9./_-]+):([A-Za-z0-9._-]+)$/.exec(image);
  if (!m || m[2] === 'latest') return false;
  const [, name, tag] = m as unknown as [string, string, string];
  if (/^RELEASE\.\d{4}-\d\d-\d\dT/.test(tag)) return true; // MinIO's release stamps
  if (name === 'postgres') return /^\d+\.\d+(-|$)/.test(tag); // PostgreSQL 10+: major.minor is the full version
  return /(^|\D)\d+\.\d+\.\d+/.test(tag);
}
/** host and port of each URL in a string (`scheme://[user:pass@]host:port`). */
const urlHosts = (value: string) =>
  [...value.matchAll(/[a-z][a-z0-9+]*:\/\/(?:[^@/\s]*@)?([A-Za-z0-9.-]+):(\d+)/g)].map((m) => ({
    host: m[1]!,
    port: m[2]!,
  }));
/** The ports a service listens on inside its container. */
function listens(config: Compose, name: string): string[] {
  const s = config.services[name]!;
  const entry = entryOf(s);
  if (!entry) return ENGINE_PORTS[name] ?? [];
  return Object.entries(envOf(s))
    .filter(([k]) => k.endsWith('_PORT'))
    .map(([, v]) => resolveUnset(v));
}

describe('the compose files', () => {
  it('parse, and each overlay names only services of the base', () => {
    expect(Object.keys(base.services).length).toBeGreaterThan(0);
    for (const overlay of Object.values(overlays))
      expect(Object.keys(overlay.services).filter((n) => !(n in base.services))).toEqual([]);
  });

  it('keep every secret out of the base (the overlays add them)', () => {
    const secrets = Object.entries(base.services).flatMap(([name, s]) =>
      Object.keys(envOf(s))
        .filter(isSecretName)
        .map((k) => `${name}.${k}`),
    );
    expect(secrets).toEqual([]);
    const refs = strings(base.services).flatMap(references);
    expect(refs.filter((r) => isSecretName(r.name)).map((r) => r.text)).toEqual([]);
  });

  it('replace the old single compose file', () => {
    expect(existsSync(path.join(COMPOSE_DIR, 'docker-compose.yml'))).toBe(false);
  });
});

describe.each(['dev', 'prod'] as const)('base + %s', (which) => {
  const config = configs[which];
  const services = config.services;
  const names = Object.keys(services);

  it('has every DataPilot service, each entry point once', () => {
    const entries = names.map((n) => entryOf(services[n]!)).filter(Boolean);
    expect([...entries].sort()).toEqual(Object.keys(ENTRY_SPECS).sort());
  });

  it(
    which === 'prod'
      ? 'runs each DataPilot service compiled: node --enable-source-maps dist/<service>/main.js, no tsx'
      : 'runs each DataPilot service with tsx watch over the mounted sources, from the dev target (dev dependencies)',
    () => {
      for (const [name, s] of Object.entries(services)) {
        if (!entryOf(s)) continue;
        if (which === 'prod') {
          expect(s.command?.slice(0, 2), name).toEqual(['node', '--enable-source-maps']);
          expect(BUILT_ENTRIES[s.command![2]!], name).toBe(entryOf(s));
        } else {
          expect(s.command?.slice(0, 2), name).toEqual(['node_modules/.bin/tsx', 'watch']);
          expect((s.build as { target?: string } | undefined)?.target, name).toBe('dev');
        }
      }
    },
  );

  it('pins every image by a full tag that is not latest; built images name the Dockerfile that exists', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, `${name} has no image`).toBeTypeOf('string');
      expect(fullTag(s.image!), `${name}: ${s.image}`).toBe(true);
      if (s.build) {
        const context = path.resolve(COMPOSE_DIR, s.build.context);
        expect(existsSync(path.join(context, s.build.dockerfile ?? 'Dockerfile')), name).toBe(true);
      }
    }
  });

  it('has a health check on every long-running service; only the one-shot jobs have none', () => {
    const awaited = Object.values(services).flatMap((s) =>
      Object.entries(s.depends_on ?? {})
        .filter(([, d]) => d.condition === 'service_completed_successfully')
        .map(([n]) => n),
    );
    expect([...new Set(awaited)].sort()).toEqual(ONE_SHOT);
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOT.includes(name)) {
        expect(s.healthcheck, name).toBeUndefined();
        continue;
      }
      const test = s.healthcheck?.test ?? [];
      expect(s.healthcheck?.disable ?? false, name).toBe(false);
      expect(['CMD', 'CMD-SHELL'], `${name} health check: ${JSON.stringify(test)}`).toContain(test[0]);
      expect(test.slice(1).join(' ').trim().length, name).toBeGreaterThan(0);
    }
  });

  it('health checks probe a port the service listens on', () => {
    for (const [name, s] of Object.entries(services)) {
      const text = (s.healthcheck?.test ?? []).join(' ');
      for (const m of text.matchAll(/127\.0\.0\.1[:/](\d+)|\/dev\/tcp\/([a-z0-9-]+)\/(\d+)/g)) {
        const port = m[1] ?? m[3]!;
        if (m[2] && m[2] !== '127.0.0.1') expect(m[2], `${name} probes another service`).toBe(name);
        expect(listens(config, name), `${name} probes :${port}`).toContain(port);
      }
    }
  });

  it('waits only for services that exist, and for health only where there is a health check', () => {
    for (const [name, s] of Object.entries(services))
      for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
        expect(names, `${name} depends on ${dep}`).toContain(dep);
        expect(['service_healthy', 'service_completed_successfully'], `${name} → ${dep}`).toContain(d.condition);
        if (d.condition === 'service_healthy') expect(services[dep]!.healthcheck, `${dep}`).toBeDefined();
      }
  });

  it('publishes only fixed port numbers on 127.0.0.1, each host port once, to a port the service listens on', () => {
    const hostPorts: string[] = [];
    for (const [name, s] of Object.entries(services))
      for (const p of publishedPorts(s)) {
        expect(p.hostIp, `${name}: ${JSON.stringify(p)}`).toBe('127.0.0.1');
        expect(p.published, `${name}: ${JSON.stringify(p)}`).toMatch(/^\d+$/);
        expect(listens(config, name), `${name} publishes container port ${p.target}`).toContain(p.target);
        hostPorts.push(p.published);
      }
    expect(hostPorts.length).toBe(new Set(hostPorts).size);
  });

  it('sets, for each DataPilot service, every variable of its spec without a default or with a loopback one', () => {
    for (const [name, s] of Object.entries(services)) {
      const entry = entryOf(s);
      if (!entry) continue;
      const spec = ENTRY_SPECS[entry]!;
      const env = envOf(s);
      const missing = Object.entries(spec)
        .filter(([k, v]) => {
          const d = defaultOf(v, k);
          return d.required || LOOPBACK.test(String(d.value ?? ''));
        })
        .map(([k]) => k)
        .filter((k) => !env[k]);
      expect(missing, `${name} (${entry})`).toEqual([]);
      // And nothing the service does not read (a misspelt name would otherwise go unnoticed). NODE_ENV is read by
      // every service outside its spec (production.ts isProduction).
      expect(
        Object.keys(env).filter((k) => !(k in spec) && k !== 'NODE_ENV'),
        name,
      ).toEqual([]);
    }
  });

  it('gives values the services accept: their own config parser passes them', () => {
    for (const [name, s] of Object.entries(services)) {
      const entry = entryOf(s);
      if (!entry) continue;
      // Required references (production) stand for values the operator sets; the rest is resolved as Compose does.
      const env = Object.fromEntries(
        Object.entries(envOf(s))
          .filter(([, v]) => !references(v).some((r) => r.op === ':?' || r.op === '?'))
          .map(([k, v]) => [k, resolveUnset(v)]),
      );
      const spec = Object.fromEntries(Object.entries(ENTRY_SPECS[entry]!).filter(([k]) => k in env || !envOf(s)[k]));
      expect(() => loadConfig(spec, env), name).not.toThrow();
    }
  });

  it('points no variable at a loopback address (inside a container that is the container itself)', () => {
    for (const [name, s] of Object.entries(services))
      for (const [k, v] of Object.entries(envOf(s))) {
        if (CLIENT_FACING.has(k) || references(v).some((r) => r.op === ':?')) continue;
        expect(LOOPBACK.test(resolveUnset(v)), `${name}.${k}=${v}`).toBe(false);
      }
  });

  it('addresses, in every URL of an environment or the Spark command, a service and a port it listens on', () => {
    for (const [name, s] of Object.entries(services)) {
      const values = [
        ...Object.entries(envOf(s)).filter(([k]) => !CLIENT_FACING.has(k)),
        ...(s.command ?? []).map((c, i) => [`command[${i}]`, c] as const),
      ];
      for (const [k, v] of values)
        for (const { host, port } of urlHosts(resolveUnset(v, 'required'))) {
          if (LOOPBACK.test(`//${host}:`)) continue; // a health probe or a client-facing address
          expect(names, `${name}.${k} → ${host}`).toContain(host);
          expect(listens(config, host), `${name}.${k} → ${host}:${port}`).toContain(port);
        }
    }
  });

  it('gives the Airflow task runner every variable the DAG tasks read', () => {
    // From the library's source: _required(env, "X") and env.get("X", ...).
    const source = readFileSync(path.join(REPO_ROOT, 'orchestration/dags/datapilot_pipeline/config.py'), 'utf8');
    const read = new Set([...source.matchAll(/(?:_required\(env, |env\.get\()"([A-Z0-9_]+)"/g)].map((m) => m[1]!));
    // From the DAG's docstring ("Environment of the workers: ..."): the two lists must agree.
    const dag = readFileSync(path.join(REPO_ROOT, 'orchestration/dags/datapilot_ingest.py'), 'utf8');
    const documented = /Environment of the workers: ([^.]+)\./.exec(dag)![1]!.split(/,\s*/);
    expect([...read].sort()).toEqual([...documented].sort());
    // LocalExecutor: the scheduler runs the tasks.
    const runners = Object.entries(services).filter(
      ([, s]) => envOf(s).AIRFLOW__CORE__EXECUTOR === 'LocalExecutor' && s.command?.[0] === 'scheduler',
    );
    expect(runners.map(([n]) => n)).toEqual(['airflow-scheduler']);
    const env = envOf(runners[0]![1]);
    expect(documented.filter((k) => !env[k])).toEqual([]);
  });

  it('gives every Airflow component the same database, Fernet key, API secret and JWT secret; tasks reach the api-server', () => {
    const airflow = Object.entries(services).filter(([, s]) => s.build?.dockerfile === 'orchestration/Dockerfile');
    expect(airflow.map(([n]) => n).sort()).toEqual([
      'airflow-api-server',
      'airflow-dag-processor',
      'airflow-init',
      'airflow-scheduler',
    ]);
    for (const key of [
      'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN',
      'AIRFLOW__CORE__FERNET_KEY',
      'AIRFLOW__API__SECRET_KEY',
      'AIRFLOW__API_AUTH__JWT_SECRET',
      'AIRFLOW__CORE__EXECUTION_API_SERVER_URL',
      'AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE',
    ]) {
      const values = new Set(airflow.map(([, s]) => envOf(s)[key]));
      expect([...values], key).toHaveLength(1);
      expect([...values][0], key).toBeTruthy();
    }
    const api = Object.entries(services).find(([, s]) => s.command?.[0] === 'api-server')!;
    const port = envOf(api[1]).AIRFLOW__API__PORT;
    expect(envOf(api[1]).AIRFLOW__CORE__EXECUTION_API_SERVER_URL).toBe(`http://${api[0]}:${port}/execution/`);
    const lake = Object.values(services).find((s) => entryOf(s) === 'subgraphs/lake/src/main.ts')!;
    expect(envOf(lake).AIRFLOW_URL).toBe(`http://${api[0]}:${port}`);
  });

  it('uses one value per credential everywhere it appears', () => {
    const all = Object.entries(services);
    const valuesOf = (key: string) => new Set(all.map(([, s]) => envOf(s)[key]).filter((v) => v !== undefined));
    for (const key of ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'LAKE_BUCKET', 'NEO4J_PASSWORD', 'AIRFLOW_PASSWORD'])
      expect([...valuesOf(key)], key).toHaveLength(1);
    const env = (n: string) => envOf(services[n]!);
    // Neo4j's own password, and the account the graph subgraph and the tasks use.
    expect(env('neo4j').NEO4J_AUTH).toBe(`neo4j/${[...valuesOf('NEO4J_PASSWORD')][0]}`);
    expect([...valuesOf('NEO4J_USER')]).toEqual(['neo4j']);
    // Airflow's service account: the same name in Airflow's user list and in the lake subgraph.
    const user = env('lake').AIRFLOW_USERNAME!;
    expect(env('airflow-init').AIRFLOW_USERNAME).toBe(user);
    expect(env('airflow-api-server').AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS).toBe(`${user}:admin`);
    // PostgreSQL: each URL's role, password and database are the ones the init script creates. The subgraphs
    // migrate as the database's owner and serve as their own runtime role (owning nothing: row-level security).
    const init = readFileSync(path.join(COMPOSE_DIR, 'postgres/init.sh'), 'utf8');
    const urls = [
      ...['auth', 'chat', 'lake'].flatMap((n) => [
        { url: env(n).DATABASE_MIGRATION_URL!, password: 'DATAPILOT_DB_PASSWORD', owner: true },
        { url: env(n).DATABASE_URL!, password: `DATAPILOT_${n.toUpperCase()}_DB_PASSWORD`, runtime: `datapilot_${n}` },
      ]),
      {
        url: env('airflow-scheduler').AIRFLOW__DATABASE__SQL_ALCHEMY_CONN!,
        password: 'AIRFLOW_DB_PASSWORD',
        owner: true,
      },
    ];
    for (const { url, password, owner, runtime } of urls) {
      const m = /^[a-z0-9+]+:\/\/([a-z_]+):(.+)@postgres:5432\/([a-z_]+)$/.exec(url ?? '');
      expect(m, url).not.toBeNull();
      const [, role, secret, database] = m!;
      expect(secret).toBe(env('postgres')[password]);
      expect(init).toContain(`CREATE ROLE ${role} LOGIN PASSWORD :'${role}_password'`);
      expect(init).toContain(`-v ${role}_password="$${password}"`);
      if (owner) expect(init).toContain(`CREATE DATABASE ${database} OWNER ${role}`);
      else expect([role, database]).toEqual([runtime, 'datapilot']);
    }
  });

  it('runs Spark Connect with the settings of infra/spark (Delta, s3a to the same store) on the standalone master', () => {
    const [name, connect] = Object.entries(services).find(([, s]) => s.command?.[0]?.endsWith('start-connect.sh'))!;
    const confs = sparkConfs(connect.command!);
    // Addresses and scratch space belong to the deployment; every other server-wide setting is the launcher's.
    const deployment = new Set([
      'spark.connect.grpc.binding.address',
      'spark.driver.host',
      'spark.driver.bindAddress',
      'spark.sql.warehouse.dir',
    ]);
    for (const [k, v] of Object.entries(sparkConnectConf(15002, '/state')))
      if (!deployment.has(k)) expect(confs[k], k).toBe(v);
    expect(confs['spark.driver.host']).toBe(name);
    expect(confs['spark.connect.grpc.binding.address']).toBe('0.0.0.0');
    // s3a: the endpoint and region the services use; the keys never on the command line.
    const lake = envOf(services.lake!);
    const s3a = s3aConf({
      endpoint: lake.S3_ENDPOINT!,
      region: lake.S3_REGION!,
      accessKeyId: 'id',
      secretAccessKey: 'secret',
    });
    const keys = ['spark.hadoop.fs.s3a.access.key', 'spark.hadoop.fs.s3a.secret.key'];
    for (const [k, v] of Object.entries(s3a)) expect(confs[k], k).toBe(keys.includes(k) ? undefined : v);
    const script = readFileSync(path.join(COMPOSE_DIR, 'spark/start-connect.sh'), 'utf8');
    for (const k of keys) expect(script).toContain(`${k}=`);
    expect(
      Object.keys(envOf(connect))
        .filter((k) => k.startsWith('S3_'))
        .sort(),
    ).toEqual(['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
    // The master it submits to, and the port clients use.
    const i = connect.command!.indexOf('--master');
    expect(connect.command![i + 1]).toBe('spark://spark-master:7077');
    expect(lake.SPARK_REMOTE).toBe(`sc://${name}:${confs['spark.connect.grpc.binding.port']}`);
  });

  it('mounts only named volumes it declares and paths that exist in the checkout', () => {
    for (const [name, s] of Object.entries(services))
      for (const v of s.volumes ?? []) {
        expect(typeof v, name).toBe('string');
        const source = (v as string).split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(path.resolve(COMPOSE_DIR, source)), `${name}: ${v}`).toBe(true);
        else expect(Object.keys(config.volumes ?? {}), `${name}: ${v}`).toContain(source);
      }
  });

  it('runs entry points that exist', () => {
    for (const [name, s] of Object.entries(services))
      for (const arg of s.command ?? [])
        if (/^[a-z]+\/.*\.ts$/.test(arg)) expect(existsSync(path.join(REPO_ROOT, arg)), `${name}: ${arg}`).toBe(true);
  });
});

describe('base + dev', () => {
  const services = configs.dev.services;

  it('starts with nothing exported: every reference has a default', () => {
    const refs = strings(services).flatMap(references);
    expect(refs.filter((r) => r.op !== ':-' && r.op !== '-').map((r) => r.text)).toEqual([]);
  });

  it('publishes every DataPilot service and runs it under tsx watch over the mounted sources', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!entryOf(s)) continue;
      expect(publishedPorts(s).length, name).toBeGreaterThan(0);
      expect(s.command?.slice(0, 2), name).toEqual(['node_modules/.bin/tsx', 'watch']);
      const mounted = (s.volumes ?? []).map((v) => String(v).split(':')[1]);
      const dir = entryOf(s)!.split('/')[0]!;
      expect(mounted, name).toContain(`/app/${dir}`);
      expect(mounted, name).toContain('/app/packages');
    }
  });

  it('has a development Fernet key Airflow accepts (32 bytes, URL-safe base64)', () => {
    const key = resolveUnset(envOf(services['airflow-api-server']!).AIRFLOW__CORE__FERNET_KEY!);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    const jwt = resolveUnset(envOf(services['airflow-api-server']!).AIRFLOW__API_AUTH__JWT_SECRET!);
    expect(Buffer.byteLength(jwt)).toBeGreaterThanOrEqual(64);
  });
});

describe('base + prod', () => {
  const services = configs.prod.services;

  it('has no literal secret: every secret variable is built from required references only', () => {
    for (const [name, s] of Object.entries(services))
      for (const [k, v] of Object.entries(envOf(s))) {
        if (!isSecretName(k)) continue;
        const refs = references(v);
        expect(refs.length, `${name}.${k}`).toBeGreaterThan(0);
        expect(
          refs.every((r) => r.op === ':?'),
          `${name}.${k}=${v}`,
        ).toBe(true);
        // What is left around the references is no secret (NEO4J_AUTH keeps its `neo4j/` user prefix).
        const rest = refs.reduce((acc, r) => acc.replace(r.text, ''), v);
        expect(rest, `${name}.${k}`).toMatch(/^([a-z0-9]+\/)?$/);
      }
  });

  it('requires every secret it references, and the passwords inside URLs too', () => {
    const refs = strings(services).flatMap(references);
    expect(refs.filter((r) => r.op === '' || r.op === '+' || r.op === ':+').map((r) => r.text)).toEqual([]);
    expect(refs.filter((r) => isSecretName(r.name) && r.op !== ':?').map((r) => r.text)).toEqual([]);
    for (const [name, s] of Object.entries(services))
      for (const [k, v] of Object.entries(envOf(s))) {
        const m = /^[a-z0-9+]+:\/\/[^:/@]+:(.+)@/.exec(v);
        if (!m) continue;
        const password = references(m[1]!);
        expect(password.length === 1 && password[0]!.text === m[1] && password[0]!.op === ':?', `${name}.${k}`).toBe(
          true,
        );
      }
  });

  it('publishes only the gateway and MinIO’s S3 API', () => {
    const published = Object.entries(services)
      .filter(([, s]) => publishedPorts(s).length > 0)
      .map(([n]) => n);
    expect(published.sort()).toEqual(['gateway', 'minio']);
    expect(publishedPorts(services.minio!).map((p) => p.target)).toEqual(['9000']);
  });

  it('restarts every long-running service, never a one-shot job, and bounds their memory', () => {
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOT.includes(name)) {
        expect(s.restart, name).toBeUndefined();
        continue;
      }
      expect(['unless-stopped', 'always'], name).toContain(s.restart);
      expect(s.deploy?.resources?.limits?.memory, name).toMatch(/^\d+[mg]$/);
    }
  });

  it('needs S3_PUBLIC_ENDPOINT for presigned upload URLs', () => {
    const refs = references(envOf(services.lake!).S3_PUBLIC_ENDPOINT ?? '');
    expect(refs.map((r) => [r.name, r.op])).toEqual([['S3_PUBLIC_ENDPOINT', ':?']]);
  });
});

describe('the images', () => {
  const dockerfiles = ['Dockerfile', 'compose/spark/Dockerfile', 'orchestration/Dockerfile'];
  /** The base images a Dockerfile starts from (`FROM image [AS stage]`), not its own earlier stages (`FROM deps`). */
  const froms = (file: string) => {
    const lines = [...readFileSync(path.join(REPO_ROOT, file), 'utf8').matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];
    const stages = new Set(lines.map((m) => m[2]).filter(Boolean));
    return lines.map((m) => m[1]!).filter((image) => !stages.has(image));
  };

  it('start from base images pinned by a full tag', () => {
    for (const file of dockerfiles) {
      expect(froms(file).length, file).toBeGreaterThan(0);
      for (const image of froms(file)) expect(fullTag(image), `${file}: FROM ${image}`).toBe(true);
    }
  });

  it('copy no jar from the repository (Maven fetches them by coordinates)', () => {
    for (const file of dockerfiles) {
      const copies = readFileSync(path.join(REPO_ROOT, file), 'utf8').match(/^COPY .*$/gm) ?? [];
      expect(
        copies.filter((c) => /\.jar\b/.test(c) && !c.includes('--from=')),
        file,
      ).toEqual([]);
    }
  });

  it('match the versions the project pins: Spark = pyspark-client, Delta for that Spark line, Airflow = the lock', () => {
    const spark = froms('compose/spark/Dockerfile').find((i) => i.startsWith('apache/spark:'))!;
    const sparkVersion = /^apache\/spark:(\d+\.\d+\.\d+)-/.exec(spark)![1]!;
    const airflowIn = readFileSync(path.join(REPO_ROOT, 'orchestration/requirements-airflow.in'), 'utf8');
    expect(/^pyspark-client==(\S+)$/m.exec(airflowIn)![1]).toBe(sparkVersion);
    const pom = readFileSync(path.join(REPO_ROOT, 'infra/spark/pom.xml'), 'utf8');
    const line = sparkVersion.split('.').slice(0, 2).join('.');
    expect(pom).toContain(`<artifactId>delta-spark_${line}_2.13</artifactId>`);
    const lock = readFileSync(path.join(REPO_ROOT, 'orchestration/requirements-airflow.txt'), 'utf8');
    const airflow = froms('orchestration/Dockerfile')[0]!;
    expect(airflow).toBe(`apache/airflow:slim-${/^apache-airflow==(\S+)$/m.exec(lock)![1]}-python3.11`);
    expect(lock).toContain('on CPython 3.11');
    for (const image of froms('Dockerfile')) expect(image).toMatch(/^node:20\.\d+\.\d+-/);
  });

  it('add to Spark only the resolved jars it lacks, and refuse a hadoop-aws of another Hadoop (add-jars.sh)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'datapilot-add-jars-'));
    const run = (resolved: string[], spark: string[]) => {
      for (const [sub, files] of [
        ['resolved', resolved],
        ['spark', spark],
      ] as const) {
        rmSync(path.join(dir, sub), { recursive: true, force: true });
        mkdirSync(path.join(dir, sub));
        for (const f of files) writeFileSync(path.join(dir, sub, f), '');
      }
      const r = spawnSync('sh', [path.join(COMPOSE_DIR, 'spark/add-jars.sh'), `${dir}/resolved`, `${dir}/spark`], {
        encoding: 'utf8',
      });
      return { status: r.status, stderr: r.stderr, jars: readdirSync(path.join(dir, 'spark')).sort() };
    };
    try {
      const spark = ['hadoop-client-api-3.4.2.jar', 'jackson-core-2.18.2.jar', 'zstd-jni-1.5.6-1.jar'];
      const ok = run(
        [
          'delta-spark_4.1_2.13-4.4.0.jar',
          'delta-storage-4.4.0.jar',
          'hadoop-aws-3.4.2.jar',
          'hadoop-client-api-3.4.2.jar',
          'jackson-core-2.13.5.jar',
          's3-2.29.52.jar',
          'zstd-jni-1.5.7-3.jar',
        ],
        spark,
      );
      expect(ok.status, ok.stderr).toBe(0);
      // By hand: Spark has hadoop-client-api, jackson-core and zstd-jni already; the other four are added.
      expect(ok.jars).toEqual(
        [
          ...spark,
          'delta-spark_4.1_2.13-4.4.0.jar',
          'delta-storage-4.4.0.jar',
          'hadoop-aws-3.4.2.jar',
          's3-2.29.52.jar',
        ].sort(),
      );
      const mismatch = run(['delta-storage-4.4.0.jar', 'hadoop-aws-3.4.1.jar'], spark);
      expect(mismatch.status).toBe(1);
      expect(mismatch.stderr).toContain('hadoop-aws 3.4.1');
      expect(mismatch.jars).toEqual(spark);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
