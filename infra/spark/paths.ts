/**
 * Where DataPilot's Spark pieces live on disk, and which extra jars (Delta, s3a) go to Spark.
 *
 * Everything machine-local sits under `<repo>/.local/` (git-ignored): the Python venv with pyspark
 * (`.local/venv`), the Delta and s3a jars Maven resolves (`.local/jars/delta`), server state (`.local/spark`) and
 * logs (`.local/logs`). Nothing here starts a process or writes a file.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparkInfraError } from './errors.ts';

/** The repository root (this file is `<repo>/infra/spark/paths.ts`). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** Absolute paths of the Spark pieces for one checkout. */
export interface SparkPaths {
  repoRoot: string;
  /** `.local/venv`: Python venv with `pyspark[connect]` and pytest. */
  venvDir: string;
  /** `.local/venv/bin/python`: the interpreter every DataPilot Python job runs with. */
  python: string;
  /** `spark-apps/requirements.txt`: the pip pins. */
  requirements: string;
  /** `infra/spark/pom.xml`: the Delta and s3a artifacts Maven resolves. */
  pom: string;
  /** `infra/spark/log4j2.properties`: the Spark Connect server's logging (warnings, plus its start line). */
  log4jConfig: string;
  /** `.local/jars/delta`: the jars Maven resolved, Delta and s3a (all of them; see {@link deltaJarsToPass}). */
  jarsDir: string;
  /** `.local/logs`: setup and server logs. */
  logsDir: string;
  /** `.local/spark`: per-server state (warehouse, derby, scratch). */
  stateDir: string;
}

/** The {@link SparkPaths} of the checkout at `repoRoot` (default: this one). */
export function sparkPaths(repoRoot: string = REPO_ROOT): SparkPaths {
  const local = path.join(repoRoot, '.local');
  const venvDir = path.join(local, 'venv');
  return {
    repoRoot,
    venvDir,
    python: path.join(venvDir, 'bin', 'python'),
    requirements: path.join(repoRoot, 'spark-apps', 'requirements.txt'),
    pom: path.join(repoRoot, 'infra', 'spark', 'pom.xml'),
    log4jConfig: path.join(repoRoot, 'infra', 'spark', 'log4j2.properties'),
    jarsDir: path.join(local, 'jars', 'delta'),
    logsDir: path.join(local, 'logs'),
    stateDir: path.join(local, 'spark'),
  };
}

/** The venv's Python (`<repo>/.local/venv/bin/python`), which has pyspark once setup ran. */
export function pythonBin(repoRoot: string = REPO_ROOT): string {
  return sparkPaths(repoRoot).python;
}

/**
 * The installed pyspark package directory, which is a complete SPARK_HOME (`bin/spark-submit`, `jars/`).
 * @throws SparkInfraError NOT_INSTALLED when the venv has no pyspark (run `tsx infra/spark/cli.ts setup`).
 */
export function sparkHome(repoRoot: string = REPO_ROOT): string {
  const lib = path.join(sparkPaths(repoRoot).venvDir, 'lib');
  const pyDirs = existsSync(lib) ? readdirSync(lib).filter((d) => /^python3\.\d+$/.test(d)) : [];
  for (const d of pyDirs) {
    const home = path.join(lib, d, 'site-packages', 'pyspark');
    if (existsSync(path.join(home, 'bin', 'spark-submit'))) return home;
  }
  throw new SparkInfraError(
    'NOT_INSTALLED',
    `pyspark is not installed in ${lib}: run \`npx tsx infra/spark/cli.ts setup\`.`,
  );
}

/**
 * The Spark Connect server jar shipped in pyspark (`jars/spark-connect_2.13-<version>.jar`).
 * @throws SparkInfraError NOT_INSTALLED when it is missing.
 */
export function connectServerJar(home: string = sparkHome()): string {
  const jars = path.join(home, 'jars');
  const jar = readdirSync(jars).find((f) => /^spark-connect_2\.13-[\d.]+\.jar$/.test(f));
  if (!jar) throw new SparkInfraError('NOT_INSTALLED', `No spark-connect_2.13-*.jar in ${jars}.`);
  return path.join(jars, jar);
}

/**
 * The Maven artifact name of a jar file name: `delta-spark_4.1_2.13-4.4.0.jar` → `delta-spark_4.1_2.13`,
 * `zstd-jni-1.5.7-3.jar` → `zstd-jni`; undefined for a name without a version.
 */
export function jarArtifact(fileName: string): string | undefined {
  return /^(.+?)-(\d[^/]*)\.jar$/.exec(fileName)?.[1];
}

/**
 * The version of a Maven artifact in a folder of jars (`hadoop-client-api` in pyspark's `jars/` → `3.4.2`), or
 * undefined when no jar of that artifact is there.
 */
export function jarVersion(dir: string, artifact: string): string | undefined {
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const jar = names.find((f) => jarArtifact(f) === artifact);
  return jar ? /-(\d[^/]*)\.jar$/.exec(jar.slice(artifact.length))?.[1] : undefined;
}

/**
 * The jars to hand to Spark (`--jars` / `spark.jars`), sorted absolute paths: those in `.local/jars/delta` (Delta,
 * and hadoop-aws with the AWS SDK modules for s3a) whose artifact name is NOT already in pyspark's `jars/` (Spark
 * brings its own Hadoop, Parquet, Jackson, Netty, Scala, log4j...; a second copy in another version would clash).
 * Same rule as `spark-apps/spark_session.py`.
 *
 * hadoop-aws must be EXACTLY the version of the Hadoop inside pyspark (`hadoop-client-api-<v>.jar`): s3a calls
 * Hadoop internals that change between releases (Hadoop's s3a documentation says so).
 * @throws SparkInfraError NOT_INSTALLED when pyspark, the Delta jars or hadoop-aws are missing (run setup);
 *   VERSION_MISMATCH when hadoop-aws and pyspark's Hadoop differ (fix `hadoop.version` in infra/spark/pom.xml).
 */
export function deltaJarsToPass(repoRoot: string = REPO_ROOT): string[] {
  const { jarsDir, pom } = sparkPaths(repoRoot);
  const resolved = existsSync(jarsDir) ? readdirSync(jarsDir).filter((f) => f.endsWith('.jar')) : [];
  const setup = '`npx tsx infra/spark/cli.ts setup`';
  if (!resolved.some((f) => f.startsWith('delta-spark_'))) {
    throw new SparkInfraError('NOT_INSTALLED', `No Delta jars in ${jarsDir}: run ${setup}.`);
  }
  const sparkJars = path.join(sparkHome(repoRoot), 'jars');
  const hadoop = jarVersion(sparkJars, 'hadoop-client-api');
  const hadoopAws = jarVersion(jarsDir, 'hadoop-aws');
  if (!hadoopAws) throw new SparkInfraError('NOT_INSTALLED', `No hadoop-aws jar in ${jarsDir}: run ${setup}.`);
  if (hadoopAws !== hadoop) {
    throw new SparkInfraError(
      'VERSION_MISMATCH',
      `hadoop-aws ${hadoopAws} (in ${jarsDir}) does not match the Hadoop ${hadoop ?? '(none found)'} inside ` +
        `pyspark (${sparkJars}); s3a needs the same version: set <hadoop.version>${hadoop ?? '?'}</hadoop.version> ` +
        `in ${pom} and run ${setup}.`,
    );
  }
  const bundled = new Set(
    readdirSync(sparkJars)
      .map(jarArtifact)
      .filter((a): a is string => a !== undefined),
  );
  return resolved
    .filter((f) => !bundled.has(jarArtifact(f) ?? f))
    .sort()
    .map((f) => path.join(jarsDir, f));
}
