/** @datapilot/lake-core: a minimal Spark Connect client, the lake's object store and the org-scoped lake on top. */
export * from './spark-connect.ts';
export { SparkError, StatementAbortedError, isSessionLost, safeSparkMessage } from './spark-errors.ts';
export * from './org-lake.ts';
export * from './lake-layout.ts';
export * from './object-store.ts';
export {
  createDeltaLogReader,
  parseSchemaString,
  deltaTypeName,
  type DeltaLogReader,
  type DeltaSnapshot,
  type DeltaRowCount,
} from './delta-log.ts';
export * from './config.ts';
