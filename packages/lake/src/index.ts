/** @datapilot/lake-core: a minimal Spark Connect client and the org-scoped lake access layer on top. */
export * from './spark-connect.ts';
export { SparkError, isSessionLost, safeSparkMessage } from './spark-errors.ts';
export * from './org-lake.ts';
export { ORG_ID_PATTERN, TABLE_NAME_PATTERN, isTableName, scanOrgTables, deltaVersion } from './lake-layout.ts';
export * from './config.ts';
