/**
 * Installs what DataPilot's Spark needs beyond npm, idempotently: a Python venv with the pins of
 * `spark-apps/requirements.txt` (pyspark with Spark Connect, pytest) and the Delta and s3a jars of
 * `infra/spark/pom.xml` resolved by Maven. Each step is skipped when a stamp (a SHA-256 of its input file) says it already ran for
 * the same input and a quick check confirms the result is there.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SparkInfraError, defaultSparkLog, type SparkLog } from './errors.ts';
import { connectServerJar, deltaJarsToPass, sparkHome, sparkPaths, REPO_ROOT } from './paths.ts';
import { probe, runLogged, tailOf } from './proc.ts';

/** Minimum Python for pyspark 4.1. */
const MIN_PYTHON: [number, number] = [3, 10];
/** Minimum Java for Spark 4 (17 and 21 are supported). */
const MIN_JAVA = 17;
const REQUIREMENTS_STAMP = '.datapilot-requirements.sha256';
const POM_STAMP = '.datapilot-pom.sha256';

/** What {@link ensureSparkInstalled} found or made. */
export interface SparkInstallation {
  /** The venv's Python. */
  python: string;
  /** pyspark's package directory, a complete SPARK_HOME. */
  sparkHome: string;
  /** The pinned pyspark version, e.g. `4.1.4`. */
  pysparkVersion: string;
  /** Java major version found (≥ 17). */
  javaMajor: number;
  /** Jars to pass to Spark (Delta and s3a), see `deltaJarsToPass`. */
  deltaJars: string[];
  /** Which steps ran (true) or were already done (false). */
  ran: { venv: boolean; pip: boolean; jars: boolean };
  /** Milliseconds the whole call took. */
  ms: number;
}

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
const readStamp = async (file: string) => (existsSync(file) ? (await readFile(file, 'utf8')).trim() : undefined);

/** `major.minor` of a Python interpreter, or undefined when it does not run. */
async function pythonVersion(bin: string): Promise<[number, number] | undefined> {
  const r = await probe(bin, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
  const m = /^(\d+)\.(\d+)/.exec(r.stdout.trim());
  return r.code === 0 && m ? [Number(m[1]), Number(m[2])] : undefined;
}

const atLeast = (v: [number, number], min: [number, number]) => v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);

/** The first python3 ≥ 3.10 on PATH. @throws SparkInfraError MISSING_TOOL naming the Debian packages. */
async function findSystemPython(): Promise<string> {
  for (const bin of ['python3.13', 'python3.12', 'python3.11', 'python3.10', 'python3']) {
    const v = await pythonVersion(bin);
    if (v && atLeast(v, MIN_PYTHON)) return bin;
  }
  throw new SparkInfraError(
    'MISSING_TOOL',
    'python3 (3.10 or newer) was not found on PATH. Install it with `apt-get install python3 python3-venv` ' +
      '(Debian 12 ships 3.11) and run setup again.',
  );
}

/** Java's major version (`java -version`, or `$JAVA_HOME/bin/java`). @throws SparkInfraError MISSING_TOOL. */
async function checkJava(): Promise<number> {
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const r = await probe(java, ['-version']);
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : undefined;
  if (r.missing || major === undefined) {
    throw new SparkInfraError(
      'MISSING_TOOL',
      `Java was not found (${java}). Spark 4 needs Java 17 or 21: \`apt-get install openjdk-17-jre-headless\`.`,
    );
  }
  if (major < MIN_JAVA) {
    throw new SparkInfraError(
      'MISSING_TOOL',
      `Java ${major} found (${java}); Spark 4 needs Java 17 or 21: \`apt-get install openjdk-17-jre-headless\` ` +
        'and put it first on PATH or in JAVA_HOME.',
    );
  }
  return major;
}

/** The pyspark version pinned in requirements.txt (`pyspark[connect]==4.1.4` → `4.1.4`). */
export async function pinnedPysparkVersion(requirements = sparkPaths().requirements): Promise<string> {
  const m = /^\s*pyspark(?:\[[^\]]*\])?==([\w.]+)\s*$/m.exec(await readFile(requirements, 'utf8'));
  if (!m?.[1]) throw new SparkInfraError('SETUP_FAILED', `${requirements} does not pin pyspark with ==.`);
  return m[1];
}

/** `name:size` of every jar in a folder, sorted: equal lists mean the same resolution. */
function jarListing(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jar'))
    .sort()
    .map((f) => `${f}:${statSync(path.join(dir, f)).size}`)
    .join('\n');
}

/**
 * Makes sure Spark can run here, installing what is missing (idempotent; a second call only checks, ~1 s):
 * 1. the venv `.local/venv` (made with the first python3 ≥ 3.10 on PATH);
 * 2. `pip install -r spark-apps/requirements.txt` into it (pyspark ~450 MB: a few minutes on first run);
 * 3. Java ≥ 17 on PATH or in JAVA_HOME (checked, not installed);
 * 4. the Delta and s3a jars of `infra/spark/pom.xml` (Delta 4.4; hadoop-aws with the AWS SDK v2 modules
 *    it uses, about 11 MB) via `mvn dependency:copy-dependencies` into `.local/jars/delta`
 *    (resolved into a fresh folder and swapped in only when the set of jars changed, so a running server keeps
 *    its files), then checked: hadoop-aws must be the version of pyspark's Hadoop. Maven is needed only here.
 * Long steps print a start line, a line every 20 s and a done line through `log`; their output goes to
 * `.local/logs/spark-setup.log`.
 * @throws SparkInfraError MISSING_TOOL (python3 / python3-venv / java / mvn, naming the Debian package),
 *   SETUP_FAILED (a step exited non-zero; the message has the log's last lines), VERSION_MISMATCH (hadoop-aws of
 *   the pom is not pyspark's Hadoop version; see `deltaJarsToPass`).
 */
export async function ensureSparkInstalled(
  log: SparkLog = defaultSparkLog,
  opts: { repoRoot?: string } = {},
): Promise<SparkInstallation> {
  const started = Date.now();
  const p = sparkPaths(opts.repoRoot ?? REPO_ROOT);
  await mkdir(p.logsDir, { recursive: true });
  const logFile = path.join(p.logsDir, 'spark-setup.log');
  const ran = { venv: false, pip: false, jars: false };

  // 1. venv
  const venvPython = existsSync(p.python) ? await pythonVersion(p.python) : undefined;
  if (!venvPython || !atLeast(venvPython, MIN_PYTHON)) {
    const sys = await findSystemPython();
    if (existsSync(p.venvDir)) await rm(p.venvDir, { recursive: true, force: true });
    log(`creating the Python venv ${p.venvDir} with ${sys}`);
    try {
      await runLogged(sys, ['-m', 'venv', p.venvDir], { logFile, log, label: 'python -m venv' });
    } catch (e) {
      if (!/ensurepip|No module named venv/.test(tailOf(logFile, 40))) throw e;
      throw new SparkInfraError(
        'MISSING_TOOL',
        `${sys} has no working venv module. Install it with \`apt-get install python3-venv\` ` +
          `(the python3.X-venv matching ${sys}) and run setup again.`,
        logFile,
      );
    }
    ran.venv = true;
  }

  // 2. pip install the pins
  const pysparkVersion = await pinnedPysparkVersion(p.requirements);
  const reqHash = await sha256(p.requirements);
  const reqStampFile = path.join(p.venvDir, REQUIREMENTS_STAMP);
  const installed = await probe(p.python, ['-c', 'import pyspark, pytest; print(pyspark.__version__)']);
  if ((await readStamp(reqStampFile)) !== reqHash || installed.stdout.trim() !== pysparkVersion) {
    log(`installing ${path.relative(p.repoRoot, p.requirements)} (pyspark ${pysparkVersion}, ~450 MB download)`);
    await runLogged(
      p.python,
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', p.requirements],
      { logFile, log, label: 'pip install' },
    );
    await writeFile(reqStampFile, reqHash + '\n');
    ran.pip = true;
  } else {
    log(`pyspark ${pysparkVersion} already installed in ${p.venvDir}`);
  }

  // 3. Java
  const javaMajor = await checkJava();

  // 4. Delta and s3a jars
  const pomHash = await sha256(p.pom);
  const pomStampFile = path.join(p.jarsDir, POM_STAMP);
  const have = existsSync(p.jarsDir) ? readdirSync(p.jarsDir) : [];
  const haveJars = have.some((f) => f.startsWith('delta-spark_')) && have.some((f) => f.startsWith('hadoop-aws-'));
  if ((await readStamp(pomStampFile)) !== pomHash || !haveJars) {
    const mvn = await probe('mvn', ['-v']);
    if (mvn.missing || mvn.code !== 0) {
      throw new SparkInfraError(
        'MISSING_TOOL',
        'Maven (mvn) was not found on PATH; it resolves the Delta and s3a jars. Install it with `apt-get install maven`.',
      );
    }
    const fresh = `${p.jarsDir}.resolving-${process.pid}`;
    await rm(fresh, { recursive: true, force: true });
    log(`resolving the Delta and s3a jars of ${path.relative(p.repoRoot, p.pom)} with Maven`);
    await runLogged(
      'mvn',
      ['-q', '-B', '-f', p.pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${fresh}`],
      { logFile, log, label: 'mvn dependency:copy-dependencies' },
    );
    if (jarListing(fresh) === jarListing(p.jarsDir)) {
      await rm(fresh, { recursive: true, force: true }); // same jars: keep the files a running server has open
    } else {
      const old = `${p.jarsDir}.old-${process.pid}`;
      if (existsSync(p.jarsDir)) await rename(p.jarsDir, old);
      await mkdir(path.dirname(p.jarsDir), { recursive: true });
      await rename(fresh, p.jarsDir);
      await rm(old, { recursive: true, force: true });
    }
    await writeFile(pomStampFile, pomHash + '\n');
    ran.jars = true;
  } else {
    log(`Delta and s3a jars already resolved in ${p.jarsDir}`);
  }

  const home = sparkHome(p.repoRoot);
  connectServerJar(home);
  const deltaJars = deltaJarsToPass(p.repoRoot);
  const ms = Date.now() - started;
  log(`Spark ready: pyspark ${pysparkVersion}, Java ${javaMajor}, ${deltaJars.length} Delta and s3a jars (${ms} ms)`);
  return { python: p.python, sparkHome: home, pysparkVersion, javaMajor, deltaJars, ran, ms };
}
