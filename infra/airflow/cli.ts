/**
 * Runs the local Airflow by hand.
 *
 *   npx tsx infra/airflow/cli.ts setup   install .local/airflow-venv from orchestration/requirements-airflow.txt
 *   npx tsx infra/airflow/cli.ts start   setup if needed, then run Airflow until SIGINT/SIGTERM
 *
 * Env (start): DATABASE_URL (required: a PostgreSQL role that may create roles and databases), AIRFLOW_URL
 * (default http://127.0.0.1:8090; its port is the api-server's), DATAPILOT_STATE_DIR (default <repo>/.local; logs
 * go to its `logs/`), AIRFLOW_STATE_DIR (default <DATAPILOT_STATE_DIR>/airflow), AIRFLOW_DAGS_FOLDER (default
 * <repo>/orchestration/dags), AIRFLOW_DATABASE (Airflow's database and role, default airflow). SPARK_REMOTE and the
 * NEO4J_*, S3_* and AWS_* variables are passed on to the tasks. Prints `READY <url>` and `PIDS <json>` on stdout
 * once healthy; the service account's password is in `<state dir>/simple_auth_manager_passwords.json`.
 */
import path from 'node:path';
import { ConfigError, DEFAULT_PORTS, loadConfig, str, url } from '@datapilot/common';
import { defaultAirflowLog as log, ensureAirflowInstalled, REPO_ROOT, startAirflow } from './index.ts';

/** Variables of this process that the tasks get (where Spark, Neo4j and the object store are). */
const TASK_ENV = /^(SPARK_REMOTE|NEO4J_\w+|S3_\w+|AWS_\w+)$/;

async function main(cmd: string | undefined): Promise<void> {
  if (cmd !== 'setup' && cmd !== 'start') {
    process.stderr.write('usage: tsx infra/airflow/cli.ts setup|start\n');
    process.exitCode = 2;
    return;
  }
  await ensureAirflowInstalled(log);
  if (cmd === 'setup') return;

  const { DATAPILOT_STATE_DIR: stateRoot } = loadConfig({
    DATAPILOT_STATE_DIR: str('data and logs of the embedded stack', path.join(REPO_ROOT, '.local')),
  });
  const cfg = loadConfig({
    DATABASE_URL: url('PostgreSQL URL of a role that may create roles and databases (Airflow gets its own)'),
    AIRFLOW_URL: url(
      'URL of the local api-server; its port is the one served',
      `http://127.0.0.1:${DEFAULT_PORTS.airflow}`,
    ),
    AIRFLOW_STATE_DIR: str('AIRFLOW_HOME of the local Airflow', path.join(stateRoot, 'airflow')),
    AIRFLOW_DAGS_FOLDER: str('folder of DAG files', path.join(REPO_ROOT, 'orchestration', 'dags')),
    AIRFLOW_DATABASE: str("name of Airflow's database and role on the server", 'airflow'),
  });
  const u = new URL(cfg.AIRFLOW_URL);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost')
    throw new ConfigError(`AIRFLOW_URL=${cfg.AIRFLOW_URL} must point at 127.0.0.1 to start a local Airflow.`);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => TASK_ENV.test(k) && v !== undefined),
  ) as Record<string, string>;
  const airflow = await startAirflow({
    databaseUrl: cfg.DATABASE_URL,
    port: Number(u.port || 80),
    stateDir: cfg.AIRFLOW_STATE_DIR,
    dagsFolder: cfg.AIRFLOW_DAGS_FOLDER,
    database: cfg.AIRFLOW_DATABASE,
    logsDir: path.join(stateRoot, 'logs'),
    env,
    log,
  });
  process.stdout.write(`READY ${airflow.url}\nPIDS ${JSON.stringify(airflow.pids)}\n`);
  log(
    `user "${airflow.username}"; password in ${path.join(cfg.AIRFLOW_STATE_DIR, 'simple_auth_manager_passwords.json')}`,
  );
  const mem = await airflow.memory();
  log(`memory: ${(mem.pssBytes / 2 ** 20).toFixed(0)} MiB PSS in ${mem.processes} processes`);
  let stopping = false;
  const shutdown = () => {
    stopping = true;
    void airflow.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  void airflow.exited.then(({ component, code }) => {
    if (stopping) return;
    log(`${component} exited on its own with code ${code}; stopping the others`);
    void airflow.stop().then(() => process.exit(1));
  });
}

main(process.argv[2]).catch((e: unknown) => {
  log(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
