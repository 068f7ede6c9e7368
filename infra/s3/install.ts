/**
 * Fetches S3Proxy (Maven Central `org.gaul:s3proxy`, classifier `jar-with-dependencies`, Apache-2.0; the version
 * is pinned in `infra/s3/pom.xml`) into `<repo>/.local/s3proxy/`, idempotently: a stamp (SHA-256 of the pom)
 * says which pom the jar there was fetched for.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../spark/paths.ts';
import { probe, runLogged } from '../spark/proc.ts';
import { S3InfraError, defaultS3Log, type S3Log } from './errors.ts';

/** S3Proxy 4.x is built for Java 17 (its README and the jar's class file version 61). */
const MIN_JAVA = 17;
const STAMP = '.datapilot-pom.sha256';
const JAR = /^s3proxy-[\d.]+-jar-with-dependencies\.jar$/;

/** Where the S3Proxy pieces live for one checkout. */
export interface S3ProxyPaths {
  repoRoot: string;
  /** `infra/s3/pom.xml`: the S3Proxy artifact Maven fetches. */
  pom: string;
  /** `.local/s3proxy`: the fetched jar and its stamp. */
  home: string;
  /** `.local/logs`: setup log (`s3-setup.log`) and server logs (`s3proxy-<port>.log`). */
  logsDir: string;
}

/** The S3Proxy paths of a checkout (nothing is created). */
export function s3proxyPaths(repoRoot: string = REPO_ROOT): S3ProxyPaths {
  return {
    repoRoot,
    pom: path.join(repoRoot, 'infra', 's3', 'pom.xml'),
    home: path.join(repoRoot, '.local', 's3proxy'),
    logsDir: path.join(repoRoot, '.local', 'logs'),
  };
}

/**
 * The fetched S3Proxy jar, `.local/s3proxy/s3proxy-<version>-jar-with-dependencies.jar`.
 * @throws S3InfraError NOT_INSTALLED when setup has not fetched it.
 */
export function s3proxyJar(repoRoot: string = REPO_ROOT): string {
  const { home } = s3proxyPaths(repoRoot);
  const jar = existsSync(home) ? readdirSync(home).find((f) => JAR.test(f)) : undefined;
  if (!jar) {
    throw new S3InfraError(
      'NOT_INSTALLED',
      `S3Proxy is not in ${home}: run \`npx tsx infra/s3/cli.ts setup\` (or \`npm run setup\`).`,
    );
  }
  return path.join(home, jar);
}

/** What {@link ensureS3ProxyInstalled} found or fetched. */
export interface S3ProxyInstallation {
  /** Absolute path of the S3Proxy jar. */
  jar: string;
  /** Its size in bytes (the download, when `ran`): about 55 MB for 4.1.0. */
  bytes: number;
  /** Java major version found (≥ 17). */
  javaMajor: number;
  /** True when Maven ran; false when the stamp matched and the jar was there. */
  ran: boolean;
  /** Milliseconds the call took. */
  ms: number;
}

/** Java's major version. @throws S3InfraError MISSING_TOOL naming the Debian package. */
async function checkJava(): Promise<number> {
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const r = await probe(java, ['-version']);
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : undefined;
  if (r.missing || major === undefined || major < MIN_JAVA) {
    throw new S3InfraError(
      'MISSING_TOOL',
      `S3Proxy needs Java ${MIN_JAVA} or newer; ${major === undefined ? `${java} was not found` : `found Java ${major}`}. ` +
        'Install it with `apt-get install openjdk-17-jre-headless`.',
    );
  }
  return major;
}

/**
 * Makes sure S3Proxy can start here (idempotent; a second call only checks, well under 1 s):
 * 1. Java ≥ 17 on PATH or in JAVA_HOME (checked, not installed);
 * 2. when the stamp in `.local/s3proxy` differs from the pom's SHA-256 or the jar is missing:
 *    `mvn dependency:copy-dependencies` of `infra/s3/pom.xml` into a fresh folder, swapped in when done (about
 *    55 MB from Maven Central; 5 s here with a cold Maven cache).
 * Progress lines go to `log` (start, every 20 s, done); Maven's output to `.local/logs/s3-setup.log`.
 * @throws S3InfraError MISSING_TOOL (java / mvn, naming the Debian package), SETUP_FAILED (Maven exited
 *   non-zero, or fetched no S3Proxy jar; the message has the log's last lines).
 */
export async function ensureS3ProxyInstalled(
  log: S3Log = defaultS3Log,
  opts: { repoRoot?: string } = {},
): Promise<S3ProxyInstallation> {
  const started = Date.now();
  const p = s3proxyPaths(opts.repoRoot ?? REPO_ROOT);
  const javaMajor = await checkJava();
  const pomHash = createHash('sha256')
    .update(await readFile(p.pom))
    .digest('hex');
  const stampFile = path.join(p.home, STAMP);
  const stamp = existsSync(stampFile) ? (await readFile(stampFile, 'utf8')).trim() : undefined;
  let ran = false;
  if (stamp !== pomHash || !existsSync(p.home) || !readdirSync(p.home).some((f) => JAR.test(f))) {
    const mvn = await probe('mvn', ['-v']);
    if (mvn.missing || mvn.code !== 0) {
      throw new S3InfraError(
        'MISSING_TOOL',
        'Maven (mvn) was not found on PATH; it fetches S3Proxy. Install it with `apt-get install maven`.',
      );
    }
    await mkdir(p.logsDir, { recursive: true });
    const logFile = path.join(p.logsDir, 's3-setup.log');
    const fresh = `${p.home}.fetching-${process.pid}`;
    await rm(fresh, { recursive: true, force: true });
    log(`fetching S3Proxy (${path.relative(p.repoRoot, p.pom)}, ~55 MB) from Maven Central into ${p.home}`);
    await runLogged(
      'mvn',
      ['-q', '-B', '-f', p.pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${fresh}`],
      {
        logFile,
        log,
        label: 'mvn dependency:copy-dependencies (S3Proxy)',
        error: (message, file) => new S3InfraError('SETUP_FAILED', message, file),
      },
    );
    if (!readdirSync(fresh).some((f) => JAR.test(f))) {
      throw new S3InfraError('SETUP_FAILED', `Maven fetched no s3proxy-*-jar-with-dependencies.jar into ${fresh}.`);
    }
    await writeFile(path.join(fresh, STAMP), pomHash + '\n');
    const old = `${p.home}.old-${process.pid}`;
    if (existsSync(p.home)) await rename(p.home, old);
    await rename(fresh, p.home);
    await rm(old, { recursive: true, force: true });
    ran = true;
  }
  const jar = s3proxyJar(p.repoRoot);
  const bytes = statSync(jar).size;
  const ms = Date.now() - started;
  log(
    `S3Proxy ${ran ? 'fetched' : 'already in place'}: ${path.basename(jar)} ` +
      `(${(bytes / 1e6).toFixed(1)} MB), Java ${javaMajor} (${ms} ms)`,
  );
  return { jar, bytes, javaMajor, ran, ms };
}
