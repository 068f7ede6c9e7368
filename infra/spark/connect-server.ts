/**
 * Starts a local Spark Connect server with Delta Lake from Node: pyspark's `spark-submit` running
 * `org.apache.spark.sql.connect.service.SparkConnectServer` (the jar pyspark ships), `local[*]`, on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, open, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { S3Endpoint } from '../s3/client.ts';
import { writePropertiesFile } from '../properties.ts';
import { SparkInfraError, defaultSparkLog, type SparkLog } from './errors.ts';
import { connectServerJar, deltaJarsToPass, sparkHome, sparkPaths, REPO_ROOT } from './paths.ts';
import { tailOf, trackExit } from './proc.ts';
import { isPortOpen } from '../net.ts';

/** Options of {@link startSparkConnect}. */
export interface SparkConnectOptions {
  /** TCP port on 127.0.0.1 for the Spark Connect gRPC service (the usual one is 15002). */
  port: number;
  /**
   * The S3-compatible store of the lake (`s3a://<bucket>/...` paths): handed to the server as the
   * `spark.hadoop.fs.s3a.*` settings of {@link s3aConf}, so the keys live on the server only.
   */
  s3?: S3Endpoint;
  /** Progress lines; default stderr with a `[spark]` prefix. */
  log?: SparkLog;
  /** Driver (= whole server in local mode) heap, Spark syntax; default `2g`. */
  driverMemory?: string;
  /** Milliseconds to wait for readiness; default 120 000. */
  readyTimeoutMs?: number;
  /** Extra Spark confs, applied after (and so over) the defaults of {@link sparkConnectConf}. */
  conf?: Record<string, string>;
  /** Checkout whose `.local` holds the venv and jars; default this one. */
  repoRoot?: string;
}

/** A running server. */
export interface RunningSparkConnect {
  /** `sc://127.0.0.1:<port>`: the SPARK_REMOTE of clients. */
  remote: string;
  port: number;
  /** Process id of the server's JVM. */
  pid: number;
  /** The server's log (stdout and stderr): `.local/logs/spark-connect-<port>.log`. */
  logFile: string;
  /** Milliseconds from the call to ready. */
  startMs: number;
  /**
   * SIGTERM (Spark's shutdown hooks run), SIGKILL after 20 s; resolves once the process is gone and its scratch
   * folder removed (the log stays). Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * The server-wide Spark confs (clients may still change the SQL ones per session): Delta's SQL extension
 * and catalog; session time zone UTC; 4 shuffle partitions and 2 Delta snapshot partitions (small data,
 * 2 cores); Delta's log cache bounded to 256 tables; deletion vectors off for new Delta tables
 * (`spark.databricks.delta.properties.defaults.enableDeletionVectors=false`: other Delta readers, e.g.
 * delta-rs, may lack them); warehouse under `stateDir` (scratch space too, via SPARK_LOCAL_DIRS); no web UI;
 * gRPC and the driver bound to 127.0.0.1 only.
 */
export function sparkConnectConf(port: number, stateDir: string): Record<string, string> {
  return {
    'spark.sql.extensions': 'io.delta.sql.DeltaSparkSessionExtension',
    'spark.sql.catalog.spark_catalog': 'org.apache.spark.sql.delta.catalog.DeltaCatalog',
    'spark.connect.grpc.binding.address': '127.0.0.1',
    'spark.connect.grpc.binding.port': String(port),
    'spark.driver.host': '127.0.0.1',
    'spark.driver.bindAddress': '127.0.0.1',
    'spark.ui.enabled': 'false',
    'spark.sql.session.timeZone': 'UTC',
    'spark.sql.shuffle.partitions': '4',
    'spark.databricks.delta.snapshotPartitions': '2',
    'spark.databricks.delta.properties.defaults.enableDeletionVectors': 'false',
    // Spark keeps each Delta table it read in a JVM-wide log cache (default 10 000 tables, kept an hour), across and
    // after sessions: ~3.6 MB per small table measured (50 orgs: +181 MB of heap, still there after ReleaseSession).
    // Bounded so that many organizations cannot fill the driver's heap; a table evicted is re-read on its next query.
    'spark.databricks.delta.delta.log.cacheSize': '256',
    'spark.sql.warehouse.dir': path.join(stateDir, 'warehouse'),
  };
}

/**
 * Spark confs that let s3a (hadoop-aws) reach an S3-compatible store, each `spark.hadoop.fs.s3a.<name>`:
 * `endpoint` (the URL as given), `endpoint.region`, `path.style.access=true` (`<endpoint>/<bucket>/<key>`; S3Proxy
 * serves nothing else), `connection.ssl.enabled` (true for an `https:` endpoint, false for `http:`),
 * `aws.credentials.provider=org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider` (the two keys below and nothing
 * else: no environment, instance profile or ~/.aws lookups), `access.key`, `secret.key`.
 * The same settings as `spark-apps/spark_session.py` `s3a_conf` (local Spark).
 * @throws RangeError when `endpoint` is not an http(s) URL.
 */
export function s3aConf(s3: S3Endpoint): Record<string, string> {
  const scheme = new URL(s3.endpoint).protocol;
  if (scheme !== 'http:' && scheme !== 'https:')
    throw new RangeError(`S3 endpoint must be http(s)://, got ${s3.endpoint}`);
  const p = 'spark.hadoop.fs.s3a.';
  return {
    [`${p}endpoint`]: s3.endpoint,
    [`${p}endpoint.region`]: s3.region,
    [`${p}path.style.access`]: 'true',
    [`${p}connection.ssl.enabled`]: String(scheme === 'https:'),
    [`${p}aws.credentials.provider`]: 'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider',
    [`${p}access.key`]: s3.accessKeyId,
    [`${p}secret.key`]: s3.secretAccessKey,
  };
}

export { isPortOpen } from '../net.ts';

/** The server's settings file (`--properties-file`, mode 0600: it may hold S3 keys), removed once it is ready. */
const confFile = (stateDir: string) => path.join(stateDir, 'spark-connect.properties');

/**
 * Removes a stopped server's state folder: its scratch space and settings file always, the warehouse and the
 * folder itself only when empty (DataPilot writes Delta tables by path, never managed tables).
 */
async function removeState(stateDir: string): Promise<void> {
  await rm(path.join(stateDir, 'tmp'), { recursive: true, force: true });
  await rm(confFile(stateDir), { force: true });
  for (const dir of [path.join(stateDir, 'warehouse'), stateDir]) await rmdir(dir).catch(() => undefined);
}

const READY_LINE = /Spark Connect server started at: \S*:(\d+)/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves after `ms` without keeping the process alive (for a deadline raced against the exit). */
const deadline = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Starts a Spark Connect server with Delta on 127.0.0.1:`port` and resolves once it is ready: its log has the
 * line "Spark Connect server started at: …:<port>" AND the port accepts TCP connections (typically 6-15 s).
 *
 * Runs `<pyspark>/bin/spark-submit --master local[*] --driver-memory <driverMemory> --jars <deltaJarsToPass>
 * --properties-file <stateDir>/spark-connect.properties --class …SparkConnectServer <spark-connect jar>` with
 * working directory `.local/spark/connect-<port>` (warehouse, Derby, scratch), logging per
 * `infra/spark/log4j2.properties` into `.local/logs/spark-connect-<port>.log` (truncated at start). The settings
 * ({@link sparkConnectConf}, {@link s3aConf} when `s3` is given, then `conf`) go through that file, mode 0600 and
 * deleted once the server is ready, not `--conf` arguments: the S3 secret must not show in `ps`. Spark redacts
 * them in its logs and UI (`spark.redaction.regex` matches `secret` and `access.key`). The server stops with this
 * Node process.
 *
 * @throws SparkInfraError NOT_INSTALLED (run setup), PORT_IN_USE (something listens on `port` already),
 *   START_FAILED (the server exited; message has its last log lines), START_TIMEOUT (not ready in
 *   `readyTimeoutMs`; the server is stopped).
 */
export async function startSparkConnect(opts: SparkConnectOptions): Promise<RunningSparkConnect> {
  const started = Date.now();
  const log = opts.log ?? defaultSparkLog;
  const { port } = opts;
  const timeoutMs = opts.readyTimeoutMs ?? 120_000;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be 1-65535, got ${port}`);
  const p = sparkPaths(opts.repoRoot ?? REPO_ROOT);
  const home = sparkHome(p.repoRoot);
  const connectJar = connectServerJar(home);
  const jars = deltaJarsToPass(p.repoRoot);
  if (await isPortOpen(port)) {
    throw new SparkInfraError(
      'PORT_IN_USE',
      `Port ${port} on 127.0.0.1 is in use; stop what listens there or pick another.`,
    );
  }

  const stateDir = path.join(p.stateDir, `connect-${port}`);
  await Promise.all([mkdir(path.join(stateDir, 'tmp'), { recursive: true }), mkdir(p.logsDir, { recursive: true })]);
  const logFile = path.join(p.logsDir, `spark-connect-${port}.log`);
  await writePropertiesFile(confFile(stateDir), {
    ...sparkConnectConf(port, stateDir),
    ...(opts.s3 ? s3aConf(opts.s3) : {}),
    ...opts.conf,
  });
  const args = [
    '--master',
    'local[*]',
    '--driver-memory',
    opts.driverMemory ?? '2g',
    '--driver-java-options',
    `-Dlog4j2.configurationFile="file:${p.log4jConfig}" -Dderby.system.home="${path.join(stateDir, 'derby')}"`,
    '--jars',
    jars.join(','),
    '--properties-file',
    confFile(stateDir),
    '--class',
    'org.apache.spark.sql.connect.service.SparkConnectServer',
    connectJar,
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SPARK_HOME: home,
    SPARK_LOCAL_IP: '127.0.0.1',
    SPARK_LOCAL_DIRS: path.join(stateDir, 'tmp'), // scratch space (shuffle, spills)
  };
  for (const k of ['SPARK_REMOTE', 'SPARK_CONNECT_MODE_ENABLED', 'PYSPARK_SUBMIT_ARGS', 'SPARK_CONF_DIR'])
    delete env[k];

  log(`starting Spark Connect on 127.0.0.1:${port} (log ${logFile})`);
  const out = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(path.join(home, 'bin', 'spark-submit'), args, { cwd: stateDir, env, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  const { exited, code: exitCodeOf } = trackExit(child);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (exitCodeOf() === undefined) {
        child.kill('SIGTERM');
        if (!(await Promise.race([exited.then(() => true), deadline(20_000).then(() => false)]))) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      await removeState(stateDir);
    })());

  // Readiness: poll the log for the start line, then check the port.
  const handle = await open(logFile, 'r');
  let text = '';
  let offset = 0;
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        text = (text + buf.subarray(0, bytesRead).toString('utf8')).slice(-256 * 1024);
      }
      const m = READY_LINE.exec(text);
      if (m && Number(m[1]) === port && (await isPortOpen(port))) break;
      if (exitCodeOf() !== undefined) {
        await stop();
        throw new SparkInfraError(
          'START_FAILED',
          `Spark Connect exited (code ${exitCodeOf()}) before it was ready; last lines of ${logFile}:\n${tailOf(logFile)}`,
          logFile,
        );
      }
      if (Date.now() - started > timeoutMs) {
        await stop();
        throw new SparkInfraError(
          'START_TIMEOUT',
          `Spark Connect was not ready on 127.0.0.1:${port} within ${timeoutMs / 1000} s (stopped it); ` +
            `see ${logFile}:\n${tailOf(logFile)}`,
          logFile,
        );
      }
      await sleep(200);
    }
  } finally {
    await handle.close();
  }
  await rm(confFile(stateDir), { force: true }); // read at start only
  const startMs = Date.now() - started;
  log(`Spark Connect ready on sc://127.0.0.1:${port} in ${(startMs / 1000).toFixed(1)} s`);
  void exited.then(() => {
    if (!stopping) log(`Spark Connect on port ${port} exited unexpectedly (code ${exitCodeOf()}); see ${logFile}`);
  });
  return { remote: `sc://127.0.0.1:${port}`, port, pid: child.pid ?? -1, logFile, startMs, stop };
}

/** True when the venv, pyspark and the Delta jars are in place (no process is started). */
export function sparkInstalled(repoRoot: string = REPO_ROOT): boolean {
  try {
    return existsSync(sparkPaths(repoRoot).python) && deltaJarsToPass(repoRoot).length > 0;
  } catch {
    return false;
  }
}
