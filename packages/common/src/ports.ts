/**
 * Default loopback ports of the embedded stack (`npm start`), one place for all services.
 * Each is overridable by the service's own variable (see README, Configuration).
 */
export const DEFAULT_PORTS = {
  gateway: 4000,
  auth: 4001,
  chat: 4002,
  lake: 4003,
  graph: 4004,
  postgres: 5433,
  sparkConnect: 15002,
  neo4jBolt: 7688,
  /** Airflow's api-server (REST API v2, UI), started when AIRFLOW_URL is unset. */
  airflow: 8090,
  /** S3Proxy, the embedded object store of the lake (S3_ENDPOINT unset). */
  s3: 9100,
} as const;
