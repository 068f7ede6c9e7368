import type { Driver } from 'neo4j-driver';

/** Database the graph lives in (Community has one user database). */
export const DATABASE = 'neo4j';

/**
 * The graph's schema objects, each `IF NOT EXISTS`. Every node type the subgraph reads gets a composite
 * uniqueness constraint on its org and key (composite uniqueness works on Community) and a range index on
 * `orgId`, which every query filters on. The constraint names are those the pipeline's publish task uses for the
 * same constraints (`CATALOG_SCHEMA` in orchestration/dags/datapilot_pipeline/publish.py), so whichever runs
 * first creates them and the other's statements are no-ops.
 */
const GRAPH_SCHEMA = [
  'CREATE CONSTRAINT dataset_org_name_unique IF NOT EXISTS FOR (d:Dataset) REQUIRE (d.orgId, d.name) IS UNIQUE',
  'CREATE INDEX dataset_org IF NOT EXISTS FOR (d:Dataset) ON (d.orgId)',
  'CREATE CONSTRAINT upload_org_id_unique IF NOT EXISTS FOR (u:Upload) REQUIRE (u.orgId, u.id) IS UNIQUE',
  'CREATE INDEX upload_org IF NOT EXISTS FOR (u:Upload) ON (u.orgId)',
  'CREATE CONSTRAINT pipeline_run_org_id_unique IF NOT EXISTS FOR (r:PipelineRun) REQUIRE (r.orgId, r.id) IS UNIQUE',
  'CREATE INDEX pipeline_run_org IF NOT EXISTS FOR (r:PipelineRun) ON (r.orgId)',
  // The semantic layer (see schema.graphql): columns and metrics are unique per (org, dataset, name).
  'CREATE CONSTRAINT column_org_dataset_name_unique IF NOT EXISTS FOR (c:Column) REQUIRE (c.orgId, c.dataset, c.name) IS UNIQUE',
  'CREATE INDEX column_org IF NOT EXISTS FOR (c:Column) ON (c.orgId)',
  'CREATE CONSTRAINT metric_org_dataset_name_unique IF NOT EXISTS FOR (m:Metric) REQUIRE (m.orgId, m.dataset, m.name) IS UNIQUE',
  'CREATE INDEX metric_org IF NOT EXISTS FOR (m:Metric) ON (m.orgId)',
] as const;

/**
 * Creates the graph's schema objects, idempotently (`IF NOT EXISTS`; an equivalent constraint or index under
 * another name also makes it a no-op): uniqueness constraints on `(:Dataset {orgId, name})`, `(:Upload {orgId,
 * id})`, `(:PipelineRun {orgId, id})`, `(:Column {orgId, dataset, name})` and `(:Metric {orgId, dataset, name})`,
 * and a range index on `orgId` for each of the five labels. Call at service start. The catalog itself (datasets
 * and their lineage) is written by the pipeline's publish task only; the semantic layer by its profiling step and
 * by this subgraph's mutations (src/data/semantic.ts).
 * @throws the driver's error when Neo4j is unreachable or the credentials are wrong.
 */
export async function ensureGraphSchema(driver: Driver): Promise<void> {
  for (const statement of GRAPH_SCHEMA) await driver.executeQuery(statement, {}, { database: DATABASE });
}
