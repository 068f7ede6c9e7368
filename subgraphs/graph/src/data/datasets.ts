import type { Driver } from 'neo4j-driver';

/** Database the graph lives in (Community has one user database). */
const DATABASE = 'neo4j';

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
] as const;

/**
 * Creates the graph's schema objects, idempotently (`IF NOT EXISTS`): uniqueness constraints on
 * `(:Dataset {orgId, name})`, `(:Upload {orgId, id})` and `(:PipelineRun {orgId, id})`, and a range index on
 * `orgId` for each of the three labels. Call at service start. The catalog itself (datasets and their lineage)
 * is written by the pipeline's publish task only; this subgraph reads it.
 * @throws the driver's error when Neo4j is unreachable or the credentials are wrong.
 */
export async function ensureGraphSchema(driver: Driver): Promise<void> {
  for (const statement of GRAPH_SCHEMA) await driver.executeQuery(statement, {}, { database: DATABASE });
}
