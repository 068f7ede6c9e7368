/**
 * What `npm start` starts, read from the environment once: the demo user, the ports, and the engines given by address
 * (PostgreSQL, S3, Spark Connect, Neo4j, Airflow) instead of started embedded. Shared by scripts/start.ts and
 * scripts/eval.ts (`npm run eval` without `--gateway` starts the same stack).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { DEFAULT_PORTS, devSecret, int, isProduction, loadConfig, str } from '@datapilot/common';
import type { Log } from './processes.ts';
import type { DemoUser, StackOptions } from '../stack.ts';

/**
 * The programs the embedded stack runs (a JDK for Spark and Neo4j, Python for Airflow and the pipeline).
 * @throws Error naming the first one missing and how to install it.
 */
export function checkPrerequisites(): void {
  for (const [bin, hint] of [
    ['java', 'install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)'],
    ['python3', 'install Python 3.10+ (Debian: apt-get install python3 python3-venv)'],
  ] as const) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`missing prerequisite: ${bin} — ${hint}`);
    }
  }
}

/** The demo user's variables (development defaults; production refuses the default password). */
const DEMO_CONFIG = {
  DEMO_EMAIL: str('email of the demo user', 'demo@datapilot.dev'),
  DEMO_PASSWORD: devSecret(
    str('password of the demo user', 'demo-password-2026'),
    'a password of your own for the demo user (8 characters or more)',
  ),
  DEMO_ORG_NAME: str('organization of the demo user', 'Demo Org'),
};

/**
 * The demo user as `npm start` creates it: DEMO_EMAIL / DEMO_PASSWORD / DEMO_ORG_NAME of `env`, with development
 * defaults `demo@datapilot.dev` / `demo-password-2026` / `Demo Org`.
 * @throws ConfigError when one is malformed, or with NODE_ENV=production when DEMO_PASSWORD is a development value.
 */
export function demoUserFromEnv(env: NodeJS.ProcessEnv): DemoUser {
  const c = loadConfig(DEMO_CONFIG, env);
  return { email: c.DEMO_EMAIL, password: c.DEMO_PASSWORD, orgName: c.DEMO_ORG_NAME };
}

/**
 * The options of `startStack` (scripts/stack.ts) as `npm start` reads them from `env` (README, Configuration):
 * DEMO_EMAIL / DEMO_PASSWORD / DEMO_ORG_NAME (development defaults `demo@datapilot.dev` / `demo-password-2026` /
 * `Demo Org`), the `*_PORT` variables (defaults {@link DEFAULT_PORTS}), DATAPILOT_STATE_DIR (default `<repo>/.local`),
 * and the addresses of engines to use instead of embedded ones (DATABASE_URL, SPARK_REMOTE, NEO4J_*, S3_*, AIRFLOW_*).
 * @param repoRoot the repository root (the default state folder is `<repoRoot>/.local`).
 * @returns the options (with `log`), and the demo user and state folder they name.
 * @throws Error with a message naming the variable: a malformed one, one missing because another is set (S3_ENDPOINT
 *   wants its keys, AIRFLOW_URL its password), or, with NODE_ENV=production, an engine left embedded (its development
 *   credentials are public).
 */
export function stackOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  repoRoot: string,
  log: Log,
): { options: StackOptions; demo: DemoUser; stateDir: string } {
  /** A variable that must be set because another one is. */
  const needs = (name: string, because: string): string => {
    const v = env[name];
    if (!v) throw new Error(`${name} is required when ${because} is set (README, Configuration)`);
    return v;
  };
  const portSpec = (doc: string, def: number) => int(doc, def, 1, 65535);
  const P = DEFAULT_PORTS;
  const config = loadConfig(
    {
      ...DEMO_CONFIG,
      GATEWAY_PORT: portSpec('gateway port', P.gateway),
      AUTH_PORT: portSpec('auth subgraph port', P.auth),
      CHAT_PORT: portSpec('chat subgraph port', P.chat),
      LAKE_PORT: portSpec('lake subgraph port', P.lake),
      GRAPH_PORT: portSpec('graph subgraph port', P.graph),
      POSTGRES_PORT: portSpec('embedded PostgreSQL port', P.postgres),
      S3PROXY_PORT: portSpec('embedded S3Proxy port', P.s3),
      SPARK_CONNECT_PORT: portSpec('embedded Spark Connect port', P.sparkConnect),
      NEO4J_BOLT_PORT: portSpec('embedded Neo4j Bolt port', P.neo4jBolt),
      AIRFLOW_PORT: portSpec('embedded Airflow api-server port', P.airflow),
    },
    env,
  );
  // The embedded engines' credentials are public (PostgreSQL's `postgres` superuser, S3Proxy's generated keys kept on
  // disk, Neo4j's development password): in production each must be a server of your own, named up front, before a
  // minute of start-up is spent on engines whose secrets the services would then refuse.
  if (isProduction(env)) {
    const embedded = (
      [
        ['DATABASE_URL', 'PostgreSQL'],
        ['S3_ENDPOINT', 'the S3 object store'],
        ['NEO4J_URI', 'Neo4j'],
        ['AIRFLOW_URL', 'Airflow'],
      ] as const
    ).filter(([name]) => !env[name]);
    if (embedded.length)
      throw new Error(
        `NODE_ENV=production: npm start would run embedded development engines with public credentials for ` +
          `${embedded.map(([, what]) => what).join(', ')}. Set ${embedded.map(([n]) => n).join(', ')} (and their ` +
          'credentials) to servers of your own, or run compose/ with the prod overlay; unset NODE_ENV for development.',
      );
  }
  const stateDir = path.resolve(env.DATAPILOT_STATE_DIR ?? path.join(repoRoot, '.local'));
  const demo: DemoUser = { email: config.DEMO_EMAIL, password: config.DEMO_PASSWORD, orgName: config.DEMO_ORG_NAME };
  const options: StackOptions = {
    stateDir,
    databaseUrl: env.DATABASE_URL,
    sparkRemote: env.SPARK_REMOTE,
    neo4jUri: env.NEO4J_URI,
    neo4jUser: env.NEO4J_USER,
    neo4jPassword: env.NEO4J_PASSWORD,
    ports: {
      gateway: config.GATEWAY_PORT,
      auth: config.AUTH_PORT,
      chat: config.CHAT_PORT,
      lake: config.LAKE_PORT,
      graph: config.GRAPH_PORT,
      postgres: config.POSTGRES_PORT,
      s3: config.S3PROXY_PORT,
      sparkConnect: config.SPARK_CONNECT_PORT,
      neo4jBolt: config.NEO4J_BOLT_PORT,
      airflow: config.AIRFLOW_PORT,
    },
    s3: env.S3_ENDPOINT
      ? {
          endpoint: env.S3_ENDPOINT,
          region: env.S3_REGION || 'us-east-1',
          accessKeyId: needs('S3_ACCESS_KEY_ID', 'S3_ENDPOINT'),
          secretAccessKey: needs('S3_SECRET_ACCESS_KEY', 'S3_ENDPOINT'),
        }
      : undefined,
    bucket: env.LAKE_BUCKET || undefined,
    s3PublicEndpoint: env.S3_PUBLIC_ENDPOINT || undefined,
    airflow: env.AIRFLOW_URL
      ? {
          url: env.AIRFLOW_URL,
          username: env.AIRFLOW_USERNAME || 'datapilot',
          password: needs('AIRFLOW_PASSWORD', 'AIRFLOW_URL'),
        }
      : undefined,
    demo,
    log,
  };
  return { options, demo, stateDir };
}
