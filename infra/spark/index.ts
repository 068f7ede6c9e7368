/**
 * DataPilot's local Spark: install it (`ensureSparkInstalled`), run a Spark Connect server with Delta Lake
 * (`startSparkConnect`), and find its pieces (`sparkPaths`, `pythonBin`, `deltaJarsToPass`).
 * CLI: `tsx infra/spark/cli.ts`.
 *
 * Versions: pyspark[connect] pinned in `spark-apps/requirements.txt` (4.1.x) and Delta 4.4 for the Spark 4.1 line
 * in `infra/spark/pom.xml` (`io.delta:delta-spark_4.1_2.13`); the two must move together.
 */
export { SparkInfraError, defaultSparkLog, type SparkInfraErrorCode, type SparkLog } from './errors.ts';
export {
  REPO_ROOT,
  connectServerJar,
  deltaJarsToPass,
  jarArtifact,
  jarVersion,
  pythonBin,
  sparkHome,
  sparkPaths,
  type SparkPaths,
} from './paths.ts';
export { ensureSparkInstalled, pinnedPysparkVersion, type SparkInstallation } from './install.ts';
export {
  isPortOpen,
  s3aConf,
  sparkConnectConf,
  sparkInstalled,
  startSparkConnect,
  type RunningSparkConnect,
  type SparkConnectOptions,
} from './connect-server.ts';
