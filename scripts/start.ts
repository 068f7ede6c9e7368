// `npm start`: the whole DataPilot stack on its embedded defaults. Ctrl-C stops every child process.
import path from 'node:path';
import { REPO_ROOT, startStack } from './stack.ts';
import { checkPrerequisites, stackOptionsFromEnv } from './lib/stack-config.ts';
import { enginePortsFromEnv, formatStackMemory, measureStackMemory } from './lib/memory.ts';

// The AWS SDK warns on Node 20 at every start; its versions are pinned (package.json) to ones that support it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Once Ctrl-C is pressed, the children see the same SIGINT: their "exited" lines are expected, not news. */
let stopping = false;
const log = (msg: string) => {
  if (stopping && /exited (unexpectedly|on its own)/.test(msg)) return;
  process.stderr.write(`[datapilot] ${msg}\n`);
};

let config;
try {
  checkPrerequisites();
  config = stackOptionsFromEnv(process.env, REPO_ROOT, log);
} catch (e) {
  log((e as Error).message);
  process.exit(1);
}
const { stateDir, demo } = config;
const env = process.env;

try {
  const stack = await startStack(config.options);
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
  // The stack's memory: this launcher, every engine it started and the five services (their process trees, from
  // /proc); engines given by address count too when they run on this machine (found by their port).
  try {
    const memory = measureStackMemory({ includeRoot: true, ports: enginePortsFromEnv(env) });
    log('memory of the stack (RSS counts shared pages once per process; PSS shares them out):');
    for (const line of formatStackMemory(memory)) log(line);
  } catch (e) {
    log(`memory not measured: ${(e as Error).message}`);
  }
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
