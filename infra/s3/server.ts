/**
 * Starts S3Proxy (the lake's embedded object store) from Node: `java -jar s3proxy-*-jar-with-dependencies.jar`
 * with the `filesystem-nio2` backend (each bucket a folder of `dataDir`, each object a plain file), SigV4 (and
 * V2) authentication with credentials kept in a file, on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ListBucketsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { isPortOpen } from '../net.ts';
import { writePropertiesFile } from '../properties.ts';
import { REPO_ROOT } from '../spark/paths.ts';
import { tailOf, trackExit } from '../spark/proc.ts';
import { s3ClientConfig, type S3Endpoint } from './client.ts';
import { S3InfraError, defaultS3Log, type S3Log } from './errors.ts';
import { s3proxyJar, s3proxyPaths } from './install.ts';

/** The signing region S3Proxy is addressed with (it accepts any; this is the SDKs' usual default). */
export const S3PROXY_REGION = 'us-east-1';
/** JVM heap of S3Proxy: objects stream to disk, so 128 MiB carried 200 MB objects and 64 MB multipart parts here. */
const HEAP = '-Xmx128m';

/** S3 access keys, as kept in the credentials file (JSON, mode 0600). */
export interface S3Credentials {
  /** 20 characters `A-Z0-9` when generated; accepted from the file: 16-128 of `A-Za-z0-9`. */
  accessKeyId: string;
  /** 40 characters `A-Za-z0-9` when generated; accepted from the file: 16-128 of `A-Za-z0-9+/=`. */
  secretAccessKey: string;
}

const ACCESS_KEY = /^[A-Za-z0-9]{16,128}$/;
const SECRET_KEY = /^[A-Za-z0-9+/=]{16,128}$/;
const randomText = (alphabet: string, n: number) =>
  Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';

/**
 * The credentials kept in `file`; when it does not exist, new random ones (access key `DP` + 18 of `A-Z0-9`,
 * secret 40 of `A-Za-z0-9`: the lengths of AWS keys; S3 allows 16-128) are written there first (JSON
 * `{ "accessKeyId", "secretAccessKey" }`, mode 0600, parent folders created). An existing file readable by
 * others is narrowed to 0600. `created` says which happened.
 * @throws S3InfraError BAD_CREDENTIALS_FILE when the file is not such JSON.
 */
export async function readOrCreateCredentials(file: string): Promise<S3Credentials & { created: boolean }> {
  if (!existsSync(file)) {
    const fresh: S3Credentials = {
      accessKeyId: 'DP' + randomText(UPPER + DIGITS, 18),
      secretAccessKey: randomText(UPPER + UPPER.toLowerCase() + DIGITS, 40),
    };
    await mkdir(path.dirname(file), { recursive: true });
    try {
      await writeFile(file, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
      return { ...fresh, created: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another start wrote it first: read that one
    }
  }
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  let parsed: Partial<S3Credentials> | undefined;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<S3Credentials>;
  } catch {
    parsed = undefined;
  }
  const { accessKeyId, secretAccessKey } = parsed ?? {};
  if (
    typeof accessKeyId !== 'string' ||
    !ACCESS_KEY.test(accessKeyId) ||
    typeof secretAccessKey !== 'string' ||
    !SECRET_KEY.test(secretAccessKey)
  ) {
    throw new S3InfraError(
      'BAD_CREDENTIALS_FILE',
      `${file} is not {"accessKeyId": 16-128 of A-Za-z0-9, "secretAccessKey": 16-128 of A-Za-z0-9+/=}; ` +
        'fix it, or delete it to have new keys generated (objects stay; clients need the new keys).',
    );
  }
  return { accessKeyId, secretAccessKey, created: false };
}

/** Options of {@link startS3Proxy}. */
export interface S3ProxyOptions {
  /** TCP port on 127.0.0.1 (the embedded default is `DEFAULT_PORTS.s3`, 9100). */
  port: number;
  /** Absolute folder of the objects: one sub-folder per bucket, one file per object; created when missing. */
  dataDir: string;
  /** Credentials file (see {@link readOrCreateCredentials}); default `<dataDir>-credentials.json`, beside it. */
  credentialsFile?: string;
  /** Progress lines; default stderr with an `[s3]` prefix. */
  log?: S3Log;
  /** Milliseconds to wait for readiness; default 60 000. */
  readyTimeoutMs?: number;
  /** Checkout whose `.local` holds the jar and logs; default this one. */
  repoRoot?: string;
}

/** A running S3Proxy: its {@link S3Endpoint} (what clients need) and the process. */
export interface RunningS3Proxy extends S3Endpoint {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Always {@link S3PROXY_REGION}. */
  region: string;
  port: number;
  /** Process id of the JVM. */
  pid: number;
  /** The server's log (stdout and stderr): `.local/logs/s3proxy-<port>.log`, truncated at start. */
  logFile: string;
  /** Where the credentials are kept. */
  credentialsFile: string;
  /** Milliseconds from the call to ready. */
  startMs: number;
  /** SIGTERM, SIGKILL after 10 s; resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves after `ms` without keeping the process alive (for a deadline raced against the exit). */
const deadline = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Whether S3Proxy answers an authenticated ListBuckets: `ok`, `denied` (a 403: the keys are not the server's) or
 * `no` (not answering yet: connection refused, timeout, 5xx).
 */
async function listBucketsAnswers(s3: S3Endpoint): Promise<'ok' | 'denied' | 'no'> {
  const client = new S3Client({
    ...s3ClientConfig(s3),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 },
  });
  try {
    await client.send(new ListBucketsCommand({}));
    return 'ok';
  } catch (e) {
    return e instanceof S3ServiceException && e.$metadata.httpStatusCode === 403 ? 'denied' : 'no';
  } finally {
    client.destroy();
  }
}

/**
 * Starts S3Proxy on 127.0.0.1:`port` and resolves once it is ready: the port accepts connections AND a ListBuckets
 * signed with the credentials answers (1.4-2.2 s here; resident memory 120-130 MiB after start).
 *
 * Settings (S3Proxy's properties): `s3proxy.endpoint=http://127.0.0.1:<port>` (binds loopback only),
 * `s3proxy.authorization=aws-v2-or-v4`, `s3proxy.identity`/`credential` = the keys of the credentials file,
 * `jclouds.provider=filesystem-nio2`, `jclouds.filesystem.basedir=<dataDir>`; no `s3proxy.virtual-host` (the field
 * notes saw it break path-style addressing). They go to S3Proxy in a properties file of mode 0600 beside the credentials file
 * (`.s3proxy-<port>.properties`), deleted once it is ready (S3Proxy reads it at start only), so the secret never
 * appears on a command line.
 *
 * The JVM dies with this Node process however it ends (even SIGKILL): it runs as
 * `sh -c 'exec 3<&0; (cat <&3 >/dev/null; kill $$) & exec java …'`, whose background `cat` reads a pipe from Node
 * and, when that pipe closes, sends SIGTERM to the JVM (which took the shell's pid by `exec`).
 *
 * @throws S3InfraError NOT_INSTALLED (run setup), BAD_CREDENTIALS_FILE, PORT_IN_USE, START_FAILED (S3Proxy exited,
 *   could not run java, or refused its own keys; the message names the log file and has its last lines),
 *   START_TIMEOUT (not ready within `readyTimeoutMs`; it has been stopped).
 */
export async function startS3Proxy(opts: S3ProxyOptions): Promise<RunningS3Proxy> {
  const started = Date.now();
  const log = opts.log ?? defaultS3Log;
  const { port } = opts;
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be 1-65535, got ${port}`);
  if (!path.isAbsolute(opts.dataDir)) throw new RangeError(`dataDir must be absolute, got ${opts.dataDir}`);
  const p = s3proxyPaths(opts.repoRoot ?? REPO_ROOT);
  const jar = s3proxyJar(p.repoRoot);
  if (await isPortOpen(port)) {
    throw new S3InfraError(
      'PORT_IN_USE',
      `Port ${port} on 127.0.0.1 is in use; stop what listens there or pick another.`,
    );
  }
  const credentialsFile = opts.credentialsFile ?? `${opts.dataDir.replace(/\/+$/, '')}-credentials.json`;
  const creds = await readOrCreateCredentials(credentialsFile);
  if (creds.created) log(`generated S3 credentials in ${credentialsFile} (mode 0600)`);
  await Promise.all([mkdir(opts.dataDir, { recursive: true }), mkdir(p.logsDir, { recursive: true })]);

  const endpoint = `http://127.0.0.1:${port}`;
  const s3: S3Endpoint = {
    endpoint,
    region: S3PROXY_REGION,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
  };
  const propsFile = path.join(path.dirname(credentialsFile), `.s3proxy-${port}.properties`);
  await writePropertiesFile(propsFile, {
    's3proxy.endpoint': endpoint,
    's3proxy.authorization': 'aws-v2-or-v4',
    's3proxy.identity': creds.accessKeyId,
    's3proxy.credential': creds.secretAccessKey,
    'jclouds.provider': 'filesystem-nio2',
    'jclouds.filesystem.basedir': opts.dataDir,
  });
  const logFile = path.join(p.logsDir, `s3proxy-${port}.log`);
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const javaArgs = [
    HEAP,
    '-XX:+UseSerialGC',
    // logback prints its own configuration steps at start otherwise.
    '-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener',
    '-jar',
    jar,
    '--properties',
    propsFile,
  ];
  // A background job's stdin is /dev/null in a non-interactive shell (POSIX), so the pipe goes through fd 3.
  const watchdog = 'exec 3<&0; (cat <&3 >/dev/null; kill -TERM $$ 2>/dev/null) & exec "$0" "$@" </dev/null 3<&-';

  log(`starting S3Proxy on ${endpoint} (data ${opts.dataDir}, log ${logFile})`);
  const out = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', watchdog, java, ...javaArgs], {
      cwd: path.dirname(jar),
      // S3Proxy's logback reads LOG_LEVEL (the services' variable too): keep its log at info whatever ours is.
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['pipe', out, out],
    });
  } finally {
    closeSync(out);
  }
  child.stdin?.on('error', () => undefined); // EPIPE once the watchdog is gone
  const { exited, code: exitCodeOf } = trackExit(child);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      child.stdin?.end(); // the watchdog sends SIGTERM too
      if (exitCodeOf() === undefined) {
        child.kill('SIGTERM');
        if (!(await Promise.race([exited.then(() => true), deadline(10_000).then(() => false)]))) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      await rm(propsFile, { force: true });
    })());

  try {
    for (;;) {
      if (exitCodeOf() !== undefined) {
        throw new S3InfraError(
          'START_FAILED',
          `S3Proxy exited (code ${exitCodeOf()}) before it was ready (is \`${java}\` Java 17+?); ` +
            `last lines of ${logFile}:\n${tailOf(logFile)}`,
          logFile,
        );
      }
      if (await isPortOpen(port, 500)) {
        const answer = await listBucketsAnswers(s3);
        if (answer === 'ok') break;
        if (answer === 'denied') {
          throw new S3InfraError(
            'START_FAILED',
            `S3Proxy on ${endpoint} refused the keys of ${credentialsFile} (403); another S3Proxy with other keys? ` +
              `See ${logFile}:\n${tailOf(logFile)}`,
            logFile,
          );
        }
      }
      if (Date.now() - started > timeoutMs) {
        throw new S3InfraError(
          'START_TIMEOUT',
          `S3Proxy was not ready on ${endpoint} within ${timeoutMs / 1000} s (stopped it); ` +
            `last lines of ${logFile}:\n${tailOf(logFile)}`,
          logFile,
        );
      }
      await sleep(150);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  await rm(propsFile, { force: true });
  const startMs = Date.now() - started;
  log(`S3Proxy ready on ${endpoint} in ${(startMs / 1000).toFixed(1)} s`);
  void exited.then(() => {
    if (!stopping) log(`S3Proxy on port ${port} exited unexpectedly (code ${exitCodeOf()}); see ${logFile}`);
  });
  return { ...s3, port, pid: child.pid ?? -1, logFile, credentialsFile, startMs, stop };
}
