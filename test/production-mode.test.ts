// Production mode (packages/common/src/production.ts): what NODE_ENV=production changes — against the real config
// registry of every service, real processes, and real auth and gateway servers — and what it keeps.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from 'graphql';
import {
  ConfigError,
  createLogger,
  createServiceAuthenticator,
  loadConfig,
  prepareSubscription,
  resolveBounds,
  type EnvSpec,
} from '@datapilot/common';
import { AUTH_SERVICE_CONFIG } from '../subgraphs/auth/src/config.ts';
import { CHAT_SERVICE_CONFIG } from '../subgraphs/chat/src/config.ts';
import { LAKE_SERVICE_CONFIG } from '../subgraphs/lake/src/config.ts';
import { GRAPH_SERVICE_CONFIG } from '../subgraphs/graph/src/config.ts';
import { GATEWAY_SERVICE_CONFIG } from '../gateway/src/config.ts';
import { createGatewayServer } from '../gateway/src/server.ts';
import { supergraphFromDefs } from '../gateway/src/compose.ts';
import { SCHEMA_FILE } from '../subgraphs/auth/src/server.ts';
import { startAuth } from '../subgraphs/auth/test/helpers.ts';

const REPO = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);

/** Values an operator would choose: none of them published anywhere in this repository. */
const OWN: Record<string, string> = {
  DATABASE_URL: 'postgres://svc:Own-db-pass-7f3a@db.internal:5432/datapilot',
  AUTH_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  NEO4J_PASSWORD: 'own-neo4j-pass-91c2',
  S3_ACCESS_KEY_ID: 'OWNACCESSKEY0001',
  S3_SECRET_ACCESS_KEY: 'own-secret-access-key-5d1e',
  AIRFLOW_PASSWORD: 'own-airflow-pass-44b0',
};

/**
 * The development values published in this repository, by hand from where they are published: undefined = unset,
 * so the spec's default would be used. README (Configuration), infra/postgres (superuser `postgres`), compose's
 * docker-compose.dev.yml (DATAPILOT_DB_PASSWORD, S3 keys, Airflow and Neo4j passwords), test/global-setup.ts
 * (Neo4j `datapilot-test`), subgraphs/auth/src/keys.ts (the development key-encryption key).
 */
const DEV_VALUES: Record<string, (string | undefined)[]> = {
  DATABASE_URL: [
    'postgres://postgres:postgres@127.0.0.1:5433/postgres',
    'postgres://datapilot:datapilot-dev@postgres:5432/datapilot',
  ],
  DATABASE_MIGRATION_URL: ['postgres://postgres:postgres@127.0.0.1:5433/postgres'],
  AUTH_KEY_ENCRYPTION_KEY: [undefined, Buffer.from('datapilot-development-kek-000000').toString('base64')],
  NEO4J_PASSWORD: [undefined, 'datapilot-dev', 'datapilot-test'],
  S3_ACCESS_KEY_ID: ['datapilot-lake-dev'],
  S3_SECRET_ACCESS_KEY: ['datapilot-lake-dev-secret'],
  AIRFLOW_PASSWORD: ['datapilot-dev'],
};

const SERVICES: Record<string, { spec: Record<string, EnvSpec<unknown>>; secrets: string[] }> = {
  auth: { spec: AUTH_SERVICE_CONFIG, secrets: ['DATABASE_URL', 'AUTH_KEY_ENCRYPTION_KEY'] },
  chat: {
    spec: CHAT_SERVICE_CONFIG,
    secrets: ['DATABASE_URL', 'DATABASE_MIGRATION_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'],
  },
  lake: {
    spec: LAKE_SERVICE_CONFIG,
    secrets: ['DATABASE_URL', 'DATABASE_MIGRATION_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'AIRFLOW_PASSWORD'],
  },
  graph: { spec: GRAPH_SERVICE_CONFIG, secrets: ['NEO4J_PASSWORD'] },
  gateway: { spec: GATEWAY_SERVICE_CONFIG, secrets: [] },
};

/** The environment of `spec` with the operator's own values only. */
const ownEnv = (spec: Record<string, unknown>) =>
  Object.fromEntries(Object.keys(spec).flatMap((k) => (OWN[k] ? [[k, OWN[k]]] : [])));

describe('loadConfig in production', () => {
  for (const [service, { spec, secrets }] of Object.entries(SERVICES))
    it(`${service}: accepts own values, refuses each development secret by name and says how to set it`, () => {
      const own = ownEnv(spec);
      expect(() => loadConfig(spec, { ...own, NODE_ENV: 'production' })).not.toThrow();
      for (const name of secrets) {
        expect(Object.keys(spec)).toContain(name);
        for (const value of DEV_VALUES[name]!) {
          const env: Record<string, string | undefined> = { ...own, [name]: value };
          // Development takes it (as convenient as before)...
          expect(() => loadConfig(spec, env), `${service} ${name}=${value}`).not.toThrow();
          // ...production refuses it, naming it (and only it) with how to set it.
          let error: unknown;
          try {
            loadConfig(spec, { ...env, NODE_ENV: 'production' });
          } catch (e) {
            error = e;
          }
          expect(error, `${service} ${name}=${value}`).toBeInstanceOf(ConfigError);
          const lines = (error as Error).message.split('\n').slice(1);
          expect(lines, `${service} ${name}=${value}`).toHaveLength(1);
          expect(lines[0]).toMatch(
            new RegExp(`^  ${name} (is unset, so|holds|carries) .*; NODE_ENV=production refuses`),
          );
          expect(lines[0]).toContain(`set ${name} to `);
        }
      }
    });

  it('reads the key-encryption key as base64 of exactly 32 bytes, in either mode', () => {
    const own = ownEnv(AUTH_SERVICE_CONFIG);
    const key = randomBytes(32);
    for (const text of [key.toString('base64'), key.toString('base64url')])
      expect(
        loadConfig(AUTH_SERVICE_CONFIG, { ...own, AUTH_KEY_ENCRYPTION_KEY: text }).AUTH_KEY_ENCRYPTION_KEY,
      ).toEqual(key);
    for (const bad of [randomBytes(16).toString('base64'), 'not base64!', randomBytes(33).toString('base64')])
      expect(() => loadConfig(AUTH_SERVICE_CONFIG, { ...own, AUTH_KEY_ENCRYPTION_KEY: bad })).toThrow(
        'AUTH_KEY_ENCRYPTION_KEY must be the base64 of exactly 32 bytes',
      );
  });

  it('names every refused variable at once', () => {
    const env = { NODE_ENV: 'production', DATABASE_URL: DEV_VALUES.DATABASE_URL![0] };
    const message = (() => {
      try {
        loadConfig(AUTH_SERVICE_CONFIG, env);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toMatch(
      /^Invalid configuration:\n {2}DATABASE_URL carries .*\n {2}AUTH_KEY_ENCRYPTION_KEY is unset/,
    );
  });
});

describe('processes refuse to start with a development secret', () => {
  it('the auth service (the key-encryption key unset)', async () => {
    const r = await run('npx', ['tsx', 'subgraphs/auth/src/main.ts'], {
      cwd: REPO,
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: OWN.DATABASE_URL, AUTH_KEY_ENCRYPTION_KEY: '' },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'AUTH_KEY_ENCRYPTION_KEY is unset, so its public development default would be used; NODE_ENV=production',
    );
  }, 60_000);

  it('npm start on the embedded engines: refused before any engine starts, naming each variable', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', DEMO_PASSWORD: 'a-real-demo-pass-2026' };
    for (const name of ['DATABASE_URL', 'S3_ENDPOINT', 'NEO4J_URI', 'AIRFLOW_URL']) delete env[name];
    const started = Date.now();
    const r = await run('npx', ['tsx', 'scripts/start.ts'], { cwd: REPO, env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Set DATABASE_URL, S3_ENDPOINT, NEO4J_URI, AIRFLOW_URL');
    expect(r.stderr).not.toContain('starting PostgreSQL');
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it('npm start (the demo password unset)', async () => {
    const r = await run('npx', ['tsx', 'scripts/start.ts'], {
      cwd: REPO,
      env: { ...process.env, NODE_ENV: 'production', DEMO_PASSWORD: '' },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DEMO_PASSWORD is unset, so its public development default would be used');
    expect(r.stderr).not.toContain('starting PostgreSQL'); // refused before anything started
  }, 60_000);
});

/** Runs `fn` with NODE_ENV = `value` (Apollo and apolloModeOptions read it when a server is made). */
async function withNodeEnv<T>(value: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = value;
  try {
    return await fn();
  } finally {
    process.env.NODE_ENV = before;
  }
}

const post = async (url: string, query: string, variables: Record<string, unknown> = {}) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: { message: string }[] }) };
};

describe('GraphQL endpoints in production and in development', () => {
  const logger = createLogger('production-test', 'error');
  let dev: Awaited<ReturnType<typeof startAuth>>;
  let prod: Awaited<ReturnType<typeof startAuth>>;
  let gateways: Record<'dev' | 'prod', { url: string; close(): Promise<void> }>;

  beforeAll(async () => {
    dev = await withNodeEnv('development', () => startAuth());
    prod = await withNodeEnv('production', () => startAuth());
    const sdl = await readFile(SCHEMA_FILE, 'utf8');
    const gateway = (auth: typeof dev) =>
      createGatewayServer({
        supergraph: supergraphFromDefs([{ name: 'auth', url: auth.server.graphqlUrl, sdl }]),
        authenticator: createServiceAuthenticator(auth.server.jwksUrl),
        port: 0,
        logger,
      });
    gateways = {
      dev: await withNodeEnv('development', () => gateway(dev)),
      prod: await withNodeEnv('production', () => gateway(prod)),
    };
  }, 120_000);
  afterAll(async () => {
    await gateways?.dev.close();
    await gateways?.prod.close();
    await dev?.stop();
    await prod?.stop();
  });

  const endpoints = () => ({
    'auth subgraph': { dev: dev.server.graphqlUrl, prod: prod.server.graphqlUrl },
    gateway: { dev: `${gateways.dev.url}/graphql`, prod: `${gateways.prod.url}/graphql` },
  });

  it('introspection answers data in development and an error in production', async () => {
    for (const [name, urls] of Object.entries(endpoints())) {
      const d = await post(urls.dev, `{ __schema { queryType { name } } }`);
      expect(d.data?.__schema?.queryType?.name, name).toBe('Query');
      for (const query of [`{ __schema { queryType { name } } }`, `{ __type(name: "Query") { name } }`]) {
        const p = await post(urls.prod, query);
        expect(p.status, name).toBe(400);
        expect(p.data, name).toBeUndefined();
        expect(p.errors![0]!.message, name).toMatch(/^GraphQL introspection is not allowed/);
      }
    }
  });

  it('a misspelled field gets a suggestion in development only', async () => {
    for (const [name, urls] of Object.entries(endpoints())) {
      const d = await post(urls.dev, `{ mee { user { id } } }`);
      expect(d.errors![0]!.message, name).toBe('Cannot query field "mee" on type "Query". Did you mean "me"?');
      const p = await post(urls.prod, `{ mee { user { id } } }`);
      expect(p.errors![0]!.message, name).toBe('Cannot query field "mee" on type "Query".');
    }
  });

  it('a misspelled enum value in a variable gets a suggestion in development only', async () => {
    const query = `mutation($role: Role!) { inviteMember(email: "x@example.org", role: $role) { token } }`;
    const d = await post(endpoints()['auth subgraph'].dev, query, { role: 'VIEWR' });
    expect(d.errors![0]!.message).toContain('Did you mean the enum value "VIEWER"?');
    const p = await post(endpoints()['auth subgraph'].prod, query, { role: 'VIEWR' });
    expect(p.errors![0]!.message).toBe(
      'Variable "$role" got invalid value "VIEWR"; Value "VIEWR" does not exist in "Role" enum.',
    );
  });

  it('serves the Sandbox landing page in development only; CSRF prevention stays on in both', async () => {
    for (const [name, urls] of Object.entries(endpoints())) {
      const page = (url: string) => fetch(url, { headers: { accept: 'text/html' } });
      const d = await page(urls.dev);
      expect(d.status, name).toBe(200);
      expect(await d.text(), name).toContain('embeddable-sandbox');
      const p = await page(urls.prod);
      expect(p.status, name).toBe(400);
      expect(await p.text(), name).not.toContain('<html');
      for (const url of [urls.dev, urls.prod]) {
        // A GET query without a preflight-forcing header could come from any web page: refused.
        const forged = await fetch(`${url}?query=${encodeURIComponent('{ __typename }')}`);
        expect(forged.status, name).toBe(400);
        expect(((await forged.json()) as { errors: { message: string }[] }).errors[0]!.message).toContain(
          'Cross-Site Request Forgery',
        );
        const preflighted = await fetch(`${url}?query=${encodeURIComponent('{ __typename }')}`, {
          headers: { 'apollo-require-preflight': 'true' },
        });
        expect(await preflighted.json(), name).toEqual({ data: { __typename: 'Query' } });
      }
    }
  });
});

describe('production mode over WebSocket', () => {
  // The graphql-ws servers validate documents themselves (ws.ts prepareSubscription): the same rules apply there.
  const schema = buildSchema(`type Query { a: Int } type Subscription { ticks(limit: Int!): Int } enum E { ONE }`);
  const prepare = (query: string, variables = {}) =>
    prepareSubscription(schema, { query, variables }, resolveBounds({})) as { message: string }[];
  it('hides field suggestions in production, keeps them in development', async () => {
    const dev = await withNodeEnv('development', async () => prepare('subscription { tick(limit: 1) }'));
    expect(dev[0]!.message).toBe('Cannot query field "tick" on type "Subscription". Did you mean "ticks"?');
    const prod = await withNodeEnv('production', async () => prepare('subscription { tick(limit: 1) }'));
    expect(prod[0]!.message).toBe('Cannot query field "tick" on type "Subscription".');
  });
});
