/** @datapilot/lake-core: a minimal Spark Connect client and the org-scoped lake access layer on top. */
export * from './spark-connect.ts';
export { SparkError, isSessionLost, safeSparkMessage } from './spark-errors.ts';
