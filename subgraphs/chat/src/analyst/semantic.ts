/**
 * The semantic layer as the analyst reads it: per dataset, columns with their semantic type, unit, synonyms, values
 * and value aliases; named metrics; relationships between columns. Stored in Neo4j by the pipeline's profiling step
 * (orchestration/dags/datapilot_pipeline/profile.py, publish.py) and edited through the graph subgraph
 * (`updateColumn`, `defineMetric`, `defineRelationship`); this module only reads, one organization at a time.
 */
import type { Driver } from 'neo4j-driver';
import type { CatalogMetric, CatalogRelationship, SemanticType } from './types.ts';

/** One column of a dataset as the layer stores it (Column node). */
export type SemanticColumn = {
  name: string;
  description: string | null;
  semanticType: SemanticType | null;
  unit: string | null;
  synonyms: string[];
  /** Distinct values, most frequent first; `valuesComplete` when they are all of them. */
  values: string[];
  valuesComplete: boolean;
  aliases: { name: string; value: string }[];
  min: string | null;
  max: string | null;
  isKey: boolean;
  distinctCount: number | null;
};

/** One dataset (gold table) of the layer. */
export type SemanticDataset = {
  name: string;
  description: string | null;
  deltaVersion: number | null;
  columns: SemanticColumn[];
  metrics: Omit<CatalogMetric, 'table'>[];
};

/** The layer of one organization. */
export type SemanticLayer = { datasets: SemanticDataset[]; relationships: CatalogRelationship[] };

/** Where the analyst gets an organization's layer from. */
export interface SemanticSource {
  /**
   * The layer of organization `orgId` (its datasets only: every node read is matched on `orgId`).
   * @throws whatever the store throws (the analyst then answers without the layer).
   */
  load(orgId: string): Promise<SemanticLayer>;
}

/** A source with nothing in it (no Neo4j configured; tests). */
export const EMPTY_SEMANTIC_SOURCE: SemanticSource = {
  load: async () => ({ datasets: [], relationships: [] }),
};

// One read: datasets, their columns and metrics; then the relationships. Every MATCH binds orgId = $orgId, so the
// organization's id (from the verified token, never from a question) is the only scope. Both in a fixed order, so
// that an unchanged layer reads as the same JSON.
const READ_DATASETS = `
MATCH (d:Dataset {orgId: $orgId})
OPTIONAL MATCH (d)-[:HAS_COLUMN]->(c:Column {orgId: $orgId})
WITH d, c ORDER BY c.position
WITH d, collect(c {.name, .description, .semanticType, .unit, .synonyms, .sampleValues, .valuesComplete,
                   .aliasNames, .aliasValues, .minValue, .maxValue, .isKey, .distinctCount}) AS columns
OPTIONAL MATCH (d)-[:HAS_METRIC]->(m:Metric {orgId: $orgId})
WITH d, columns, m ORDER BY m.name
RETURN d.name AS name, d.description AS description, d.deltaVersion AS deltaVersion, columns,
       collect(m {.name, .description, .aggregate, .column, .synonyms}) AS metrics
ORDER BY name`;
const READ_RELATIONSHIPS = `
MATCH (a:Column {orgId: $orgId})-[r:REFERENCES]->(b:Column {orgId: $orgId})
RETURN a.dataset AS fromTable, a.name AS fromColumn, b.dataset AS toTable, b.name AS toColumn,
       r.cardinality AS cardinality
ORDER BY fromTable, fromColumn, toTable, toColumn`;

const num = (v: unknown): number | null =>
  v === null || v === undefined
    ? null
    : typeof v === 'object' && 'toNumber' in v
      ? (v as { toNumber(): number }).toNumber()
      : Number(v);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));
const SEMANTIC_TYPES = new Set(['TIME', 'CATEGORY', 'MEASURE', 'IDENTIFIER', 'GEO_CODE', 'TEXT']);

/**
 * Reads organizations' layers from Neo4j (two Cypher queries per load), caching each for `ttlMs` (default 5 s) so
 * a burst of questions reads once; an edit shows within that time. A read that finds the layer as it was (the same
 * JSON) returns the object of the previous read, so an unchanged layer keeps its identity across reads: the
 * analyst keeps the catalog built from it (and the planner's indexes of it) while the identity holds. At most
 * `maxOrgs` organizations (default 1 000) are kept, least recently read out.
 */
export function createNeo4jSemanticSource(
  driver: Driver,
  opts: { ttlMs?: number; maxOrgs?: number } = {},
): SemanticSource {
  const ttl = opts.ttlMs ?? 5_000;
  const maxOrgs = opts.maxOrgs ?? 1_000;
  const cache = new Map<string, { at: number; layer: Promise<SemanticLayer> }>();
  /** Per organization: the last layer read and its JSON text (to tell an unchanged layer on the next read). */
  const last = new Map<string, { json: string; layer: SemanticLayer }>();

  /** `read(orgId)`, or the previous read's object when the layer read is the same as it (JSON text). */
  async function readKeepingIdentity(orgId: string): Promise<SemanticLayer> {
    const fresh = await read(orgId);
    const json = JSON.stringify(fresh);
    const prev = last.get(orgId);
    if (prev && prev.json === json) return prev.layer;
    last.delete(orgId);
    last.set(orgId, { json, layer: fresh });
    while (last.size > maxOrgs) last.delete(last.keys().next().value!);
    return fresh;
  }

  async function read(orgId: string): Promise<SemanticLayer> {
    const session = driver.session({ defaultAccessMode: 'READ' });
    try {
      const ds = await session.run(READ_DATASETS, { orgId });
      const rel = await session.run(READ_RELATIONSHIPS, { orgId });
      return {
        datasets: ds.records.map((r) => ({
          name: String(r.get('name')),
          description: str(r.get('description')),
          deltaVersion: num(r.get('deltaVersion')),
          columns: (r.get('columns') as Record<string, unknown>[])
            .filter((c) => c.name)
            .map((c) => {
              const names = strs(c.aliasNames);
              const values = strs(c.aliasValues);
              const type = str(c.semanticType);
              return {
                name: String(c.name),
                description: str(c.description),
                semanticType: type && SEMANTIC_TYPES.has(type) ? (type as SemanticType) : null,
                unit: str(c.unit),
                synonyms: strs(c.synonyms),
                values: strs(c.sampleValues),
                valuesComplete: c.valuesComplete === true,
                aliases: names.slice(0, values.length).map((name, i) => ({ name, value: values[i]! })),
                min: str(c.minValue),
                max: str(c.maxValue),
                isKey: c.isKey === true,
                distinctCount: num(c.distinctCount),
              };
            }),
          metrics: (r.get('metrics') as Record<string, unknown>[])
            .filter((m) => m.name && m.aggregate)
            .map((m) => ({
              name: String(m.name),
              description: str(m.description),
              aggregate: String(m.aggregate) as CatalogMetric['aggregate'],
              column: str(m.column),
              synonyms: strs(m.synonyms),
            })),
        })),
        relationships: rel.records.map((r) => ({
          from: { table: String(r.get('fromTable')), column: String(r.get('fromColumn')) },
          to: { table: String(r.get('toTable')), column: String(r.get('toColumn')) },
          cardinality: r.get('cardinality') === 'ONE_TO_ONE' ? 'ONE_TO_ONE' : 'MANY_TO_ONE',
        })),
      };
    } finally {
      await session.close();
    }
  }

  return {
    load(orgId) {
      const hit = cache.get(orgId);
      if (hit && Date.now() - hit.at < ttl) return hit.layer;
      const layer = readKeepingIdentity(orgId);
      cache.delete(orgId);
      cache.set(orgId, { at: Date.now(), layer });
      layer.catch(() => cache.delete(orgId));
      while (cache.size > maxOrgs) {
        const oldest = cache.keys().next().value!;
        cache.delete(oldest);
        last.delete(oldest);
      }
      return layer;
    },
  };
}
