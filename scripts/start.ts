// `npm start`: the whole DataPilot stack on its embedded defaults. Ctrl-C stops every child process.
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { DEFAULT_PORTS, devSecret, int, isProduction, loadConfig, str } from '@datapilot/common';
import { REPO_ROOT, startStack } from './stack.ts';

// The AWS SDK warns on Node 20 at every start; its versions are pinned (package.json) to ones that support it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Once Ctrl-C is pressed, the children see the same SIGINT: their "exited" lines are expected, not news. */
let stopping = false;
const log = (msg: string) => {
  if (stopping && /exited (unexpectedly|on its own)/.test(msg)) return;
  process.stderr.write(`[datapilot] ${msg}\n`);
};

for (const [bin, hint] of [
  ['java', 'install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)'],
  ['python3', 'install Python 3.10+ (Debian: apt-get install python3 python3-venv)'],
] as const) {
  try {
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
  } catch {
    log(`missing prerequisite: ${bin} — ${hint}`);
    process.exit(1);
  }
}

const env = process.env;
/** A variable that must be set because another one is. */
function needs(name: string, because: string): string {
  const v = env[name];
  if (!v) {
    log(`${name} is required when ${because} is set (README, Configuration)`);
    process.exit(1);
  }
  return v;
}
const portSpec = (doc: string, def: number) => int(doc, def, 1, 65535);
const P = DEFAULT_PORTS;
let ports;
try {
  ports = loadConfig({
    DEMO_EMAIL: str('email of the demo user', 'demo@datapilot.dev'),
    DEMO_PASSWORD: devSecret(
      str('password of the demo user', 'demo-password-2026'),
      'a password of your own for the demo user (8 characters or more)',
    ),
    DEMO_ORG_NAME: str('organization of the demo user', 'Demo Org'),
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
  });
} catch (e) {
  log((e as Error).message);
  process.exit(1);
}
// The embedded engines' credentials are public (PostgreSQL's `postgres` superuser, S3Proxy's generated keys kept on
// disk, Neo4j's development password): in production each must be a server of your own, named up front, before a
// minute of start-up is spent on engines whose secrets the services would then refuse.
if (isProduction()) {
  const embedded = (
    [
      ['DATABASE_URL', 'PostgreSQL'],
      ['S3_ENDPOINT', 'the S3 object store'],
      ['NEO4J_URI', 'Neo4j'],
      ['AIRFLOW_URL', 'Airflow'],
    ] as const
  ).filter(([name]) => !env[name]);
  if (embedded.length) {
    log(
      `NODE_ENV=production: npm start would run embedded development engines with public credentials for ` +
        `${embedded.map(([, what]) => what).join(', ')}. Set ${embedded.map(([n]) => n).join(', ')} (and their ` +
        'credentials) to servers of your own, or run compose/ with the prod overlay; unset NODE_ENV for development.',
    );
    process.exit(1);
  }
}
const stateDir = path.resolve(env.DATAPILOT_STATE_DIR ?? path.join(REPO_ROOT, '.local'));
const demo = { email: ports.DEMO_EMAIL, password: ports.DEMO_PASSWORD, orgName: ports.DEMO_ORG_NAME };

try {
  const stack = await startStack({
    stateDir,
    databaseUrl: env.DATABASE_URL,
    sparkRemote: env.SPARK_REMOTE,
    neo4jUri: env.NEO4J_URI,
    neo4jUser: env.NEO4J_USER,
    neo4jPassword: env.NEO4J_PASSWORD,
    ports: {
      gateway: ports.GATEWAY_PORT,
      auth: ports.AUTH_PORT,
      chat: ports.CHAT_PORT,
      lake: ports.LAKE_PORT,
      graph: ports.GRAPH_PORT,
      postgres: ports.POSTGRES_PORT,
      s3: ports.S3PROXY_PORT,
      sparkConnect: ports.SPARK_CONNECT_PORT,
      neo4jBolt: ports.NEO4J_BOLT_PORT,
      airflow: ports.AIRFLOW_PORT,
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
  });
  const gw = stack.gatewayUrl;
  process.stderr.write(
    [
      '',
      `DataPilot is up.`,
      `  GraphQL (and Apollo Sandbox):  ${gw}/graphql`,
      `  Subscriptions (graphql-ws):    ${gw.replace('http', 'ws')}/graphql`,
      `  Demo user:  ${demo.email} / ${demo.password}   (org ${stack.demo.orgId})`,
      `  Airflow:    ${stack.airflow.url}  (user ${stack.airflow.username}` +
        (env.AIRFLOW_URL
          ? ')'
          : `; password in ${path.join(stateDir, 'airflow', 'simple_auth_manager_passwords.json')})`),
      `  Object store (S3 API): ${stack.s3.endpoint}, bucket ${stack.s3.bucket}`,
      `  Logs: ${path.join(stateDir, 'logs')}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
} catch (e) {
  log(`start failed: ${(e as Error).message}`);
  process.exit(1);
}
