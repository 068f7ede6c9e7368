/**
 * Where DataPilot's Spark pieces live on disk, and which Delta jars go to Spark.
 *
 * Everything machine-local sits under `<repo>/.local/` (git-ignored): the Python venv with pyspark
 * (`.local/venv`), the Delta jars Maven resolves (`.local/jars/delta`), server state (`.local/spark`) and logs
 * (`.local/logs`). Nothing here starts a process or writes a file.
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
  /** `infra/spark/pom.xml`: the Delta artifact Maven resolves. */
  pom: string;
  /** `infra/spark/log4j2.properties`: the Spark Connect server's logging (warnings, plus its start line). */
  log4jConfig: string;
  /** `.local/jars/delta`: the jars Maven resolved (all of them; see {@link deltaJarsToPass}). */
  jarsDir: string;
  /** `.local/logs`: setup and server logs. */
  logsDir: string;
  /** `.local/spark`: per-server state (warehouse, derby, scratch). */
  stateDir: string;
  /** `spark-apps/bronze_to_gold.py`. */
  bronzeToGold: string;
  /** `orchestration/pipeline.py`. */
  pipeline: string;
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
    bronzeToGold: path.join(repoRoot, 'spark-apps', 'bronze_to_gold.py'),
    pipeline: path.join(repoRoot, 'orchestration', 'pipeline.py'),
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
 * The Delta jars to hand to Spark (`--jars` / `spark.jars`), sorted absolute paths: those in `.local/jars/delta`
 * whose artifact name is NOT already in pyspark's `jars/` (Spark brings its own Hadoop, Parquet, Jackson,
 * Scala, log4j...; a second copy in another version would clash). Same rule as `spark-apps/spark_session.py`.
 * @throws SparkInfraError NOT_INSTALLED when pyspark or the Delta jars are missing.
 */
export function deltaJarsToPass(repoRoot: string = REPO_ROOT): string[] {
  const { jarsDir } = sparkPaths(repoRoot);
  const resolved = existsSync(jarsDir) ? readdirSync(jarsDir).filter((f) => f.endsWith('.jar')) : [];
  if (!resolved.some((f) => f.startsWith('delta-spark_'))) {
    throw new SparkInfraError(
      'NOT_INSTALLED',
      `No Delta jars in ${jarsDir}: run \`npx tsx infra/spark/cli.ts setup\`.`,
    );
  }
  const bundled = new Set(
    readdirSync(path.join(sparkHome(repoRoot), 'jars'))
      .map(jarArtifact)
      .filter((a): a is string => a !== undefined),
  );
  return resolved
    .filter((f) => !bundled.has(jarArtifact(f) ?? f))
    .sort()
    .map((f) => path.join(jarsDir, f));
}
