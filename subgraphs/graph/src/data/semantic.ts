/**
 * The semantic layer's writes (the Cypher behind the mutations of schema.graphql; the nodes are those its header
 * describes, the Column's properties those of the pipeline's profiling step, orchestration/dags/datapilot_pipeline/
 * profile.py). Every statement matches its nodes by `orgId: $org` first, `$org` being the
 * token's `org` claim, so that another organization's dataset is never matched and nothing of it is written. Each
 * function runs in one write transaction (its statements see each other's writes; retried by the driver as a whole)
 * and returns what the resolver needs to answer or refuse; the resolvers read the result back through @neo4j/graphql.
 */
import type { Driver, ManagedTransaction } from 'neo4j-driver';
import { DATABASE } from './datasets.ts';
import type { StoredAliases } from '../semantic-input.ts';

/** A column by names. */
export type ColumnKey = { dataset: string; column: string };

/** What the writes need to know about a column before they change it (null fields: unknown). */
export type ColumnState = ColumnKey & {
  /** The dataset exists in the caller's organization. */
  datasetFound: boolean;
  /** Index of the column in the dataset's `columnNames`; null when the dataset has no such column. */
  position: number | null;
  /** Spark SQL type name from the dataset's `columnTypes`. */
  type: string | null;
  /** Rows of the dataset. */
  rowCount: number | null;
  /** From the Column node (null when the column is not profiled). */
  isKey: boolean | null;
  distinctCount: number | null;
  nullCount: number | null;
  valuesComplete: boolean | null;
  /** References from this column. */
  outgoing: number;
  /** Of the `values` asked about: those the column does not hold, when its values are known completely. */
  unknownValues: string[];
  /**
   * The values the pipeline listed for the column (`sampleValues`: distinct, as text; every one of them when
   * `valuesComplete`), when asked for (`list`); else empty.
   */
  listedValues: string[];
};

/** Appends `$edited` (property names) to `node.edited`, each once. */
const appendEdited = (node: string, param = '$edited') =>
  `${node}.edited = reduce(acc = coalesce(${node}.edited, []), p IN ${param} | ` +
  `CASE WHEN p IN acc THEN acc ELSE acc + p END)`;

/**
 * For each `ref` row ({dataset, column}): the Column node of that column of the caller's organization, created from
 * the Dataset's column lists when the pipeline has not profiled it yet (position, type, nullability, description),
 * with its HAS_COLUMN edge; rows whose dataset or column does not exist are dropped. Binds `d`, `c`, `ref`.
 */
const ENSURE_COLUMN = `
  MATCH (d:Dataset {orgId: $org, name: ref.dataset})
  WITH d, ref, [i IN range(0, size(coalesce(d.columnNames, [])) - 1) WHERE d.columnNames[i] = ref.column][0] AS i
  WHERE i IS NOT NULL
  MERGE (c:Column {orgId: $org, dataset: ref.dataset, name: ref.column})
    ON CREATE SET c.position = i, c.type = d.columnTypes[i], c.nullable = d.columnNullable[i],
      c.description = CASE WHEN d.columnDescriptions[i] <> '' THEN d.columnDescriptions[i] END
  MERGE (d)-[:HAS_COLUMN]->(c)`;

const toNumber = (v: unknown): number | null =>
  v == null ? null : typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();

async function write<T>(driver: Driver, work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
  const session = driver.session({ database: DATABASE });
  try {
    return await session.executeWrite(work);
  } finally {
    await session.close();
  }
}

/**
 * The state of each of `refs` in the caller's organization (see {@link ColumnState}); `values[i]` are values to look
 * up in column i (alias values), at most a few hundred; `list` asks for the column's listed values (at most the
 * pipeline's 10,000 per column).
 */
async function columnStates(
  tx: ManagedTransaction,
  org: string,
  refs: readonly (ColumnKey & { values?: readonly string[]; list?: boolean })[],
): Promise<ColumnState[]> {
  const result = await tx.run(
    `UNWIND $refs AS ref
     OPTIONAL MATCH (d:Dataset {orgId: $org, name: ref.dataset})
     WITH ref, d, [i IN range(0, size(coalesce(d.columnNames, [])) - 1) WHERE d.columnNames[i] = ref.column][0] AS i
     OPTIONAL MATCH (d)-[:HAS_COLUMN]->(c:Column {orgId: $org, name: ref.column})
     RETURN ref.dataset AS dataset, ref.column AS column, d IS NOT NULL AS datasetFound, i AS position,
       d.columnTypes[i] AS type, d.rowCount AS rowCount, c.isKey AS isKey, c.distinctCount AS distinctCount,
       c.nullCount AS nullCount, c.valuesComplete AS valuesComplete,
       CASE WHEN c IS NULL THEN 0 ELSE COUNT { (c)-[:REFERENCES]->(:Column) } END AS outgoing,
       [v IN ref.values WHERE c.valuesComplete = true AND NOT v IN coalesce(c.sampleValues, [])] AS unknownValues,
       CASE WHEN ref.list THEN coalesce(c.sampleValues, []) ELSE [] END AS listedValues`,
    {
      org,
      refs: refs.map((r) => ({ dataset: r.dataset, column: r.column, values: r.values ?? [], list: r.list ?? false })),
    },
  );
  return result.records.map((r) => ({
    dataset: r.get('dataset') as string,
    column: r.get('column') as string,
    datasetFound: r.get('datasetFound') as boolean,
    position: r.get('position') == null ? null : toNumber(r.get('position')),
    type: r.get('type') as string | null,
    rowCount: toNumber(r.get('rowCount')),
    isKey: r.get('isKey') as boolean | null,
    distinctCount: toNumber(r.get('distinctCount')),
    nullCount: toNumber(r.get('nullCount')),
    valuesComplete: r.get('valuesComplete') as boolean | null,
    outgoing: toNumber(r.get('outgoing')) ?? 0,
    unknownValues: r.get('unknownValues') as string[],
    listedValues: (r.get('listedValues') as unknown[]).map(String),
  }));
}

/**
 * Sets the description of dataset `name` (null removes it) and records `description` in its `edited` list.
 * @returns false when the organization has no such dataset (nothing written).
 */
export async function writeDatasetDescription(
  driver: Driver,
  org: string,
  name: string,
  description: string | null,
): Promise<boolean> {
  return write(driver, async (tx) => {
    const r = await tx.run(
      `MATCH (d:Dataset {orgId: $org, name: $name})
       SET d.description = $description, ${appendEdited('d')}
       RETURN count(d) AS n`,
      { org, name, description, edited: ['description'] },
    );
    return toNumber(r.records[0]?.get('n')) === 1;
  });
}

/** The properties `updateColumn` sets on a Column (null removes one); each key is recorded in `edited`. */
export type ColumnProps = Partial<{
  description: string | null;
  semanticType: string;
  unit: string | null;
  synonyms: string[];
}> &
  Partial<StoredAliases>;

/**
 * Checks and edits one column: `check` gets the column's state (aliased values looked up; its listed values when
 * aliases are set) and throws to refuse; then
 * the Column node is created if the pipeline has not profiled the column yet, `props` are set and their names added
 * to its `edited` list. Both in one transaction.
 * @returns the state before the edit (`position` null: no such dataset or column; nothing written).
 */
export async function writeColumn(
  driver: Driver,
  org: string,
  key: ColumnKey,
  props: ColumnProps,
  check: (state: ColumnState) => void,
): Promise<ColumnState> {
  return write(driver, async (tx) => {
    const aliases = props.aliasValues !== undefined;
    const [state] = await columnStates(tx, org, [{ ...key, values: props.aliasValues ?? [], list: aliases }]);
    if (!state || state.position === null) return state!;
    check(state);
    await tx.run(
      `WITH $ref AS ref ${ENSURE_COLUMN}
       SET c += $props, ${appendEdited('c')}`,
      { org, ref: key, props, edited: Object.keys(props) },
    );
    return state;
  });
}

/** A metric as `defineMetric` stores it. */
export type MetricProps = {
  name: string;
  description: string | null;
  aggregate: string;
  column: string | null;
  synonyms: string[];
};

/**
 * Creates or replaces metric `m.name` of `dataset`: `check` gets the state of the dataset (and of `m.column`), the
 * number of metrics it has and whether this one exists, and throws to refuse.
 * @returns false when the organization has no such dataset (nothing written).
 */
export async function writeMetric(
  driver: Driver,
  org: string,
  dataset: string,
  m: MetricProps,
  check: (column: ColumnState, metrics: number, exists: boolean) => void,
): Promise<boolean> {
  return write(driver, async (tx) => {
    const [state] = await columnStates(tx, org, [{ dataset, column: m.column ?? '' }]);
    if (!state?.datasetFound) return false;
    const counts = await tx.run(
      `MATCH (d:Dataset {orgId: $org, name: $dataset})
       OPTIONAL MATCH (d)-[:HAS_METRIC]->(m:Metric {orgId: $org})
       RETURN count(m) AS metrics, count(CASE WHEN m.name = $name THEN 1 END) AS exists`,
      { org, dataset, name: m.name },
    );
    check(state, toNumber(counts.records[0]?.get('metrics')) ?? 0, toNumber(counts.records[0]?.get('exists')) === 1);
    await tx.run(
      `MATCH (d:Dataset {orgId: $org, name: $dataset})
       MERGE (m:Metric {orgId: $org, dataset: $dataset, name: $m.name})
       SET m.description = $m.description, m.aggregate = $m.aggregate, m.column = $m.column,
         m.synonyms = $m.synonyms
       MERGE (d)-[:HAS_METRIC]->(m)`,
      { org, dataset, m },
    );
    return true;
  });
}

/**
 * Deletes metric `name` of `dataset`.
 * @returns false when the organization has no such metric.
 */
export async function deleteMetricNode(driver: Driver, org: string, dataset: string, name: string): Promise<boolean> {
  return write(driver, async (tx) => {
    const r = await tx.run(
      `MATCH (m:Metric {orgId: $org, dataset: $dataset, name: $name})
       DETACH DELETE m
       RETURN count(*) AS n`,
      { org, dataset, name },
    );
    return (toNumber(r.records[0]?.get('n')) ?? 0) > 0;
  });
}

/**
 * Creates (or updates) the reference `from` → `to` with origin DEFINED: `check` gets the state of both columns (with
 * their listed values) and whether the reference exists, and throws to refuse, else returns the coverage to store
 * (null: not measured, an existing edge keeps its own); the Column nodes are created if not profiled yet; `from`'s
 * `edited` list gets `references`, so that the pipeline's profiling leaves the references of `from` as a person set
 * them.
 * @returns the states of `from` and `to` (a `position` null: no such dataset or column; nothing written).
 */
export async function writeReference(
  driver: Driver,
  org: string,
  from: ColumnKey,
  to: ColumnKey,
  cardinality: string,
  check: (from: ColumnState, to: ColumnState, exists: boolean) => number | null,
): Promise<[ColumnState, ColumnState]> {
  return write(driver, async (tx) => {
    const [a, k] = (await columnStates(tx, org, [
      { ...from, list: true },
      { ...to, list: true },
    ])) as [ColumnState, ColumnState];
    if (a.position === null || k.position === null) return [a, k];
    const existing = await tx.run(
      `MATCH (:Column {orgId: $org, dataset: $from.dataset, name: $from.column})
         -[r:REFERENCES]->(:Column {orgId: $org, dataset: $to.dataset, name: $to.column})
       RETURN count(r) AS n`,
      { org, from, to },
    );
    const coverage = check(a, k, (toNumber(existing.records[0]?.get('n')) ?? 0) > 0);
    await tx.run(
      `UNWIND $refs AS ref ${ENSURE_COLUMN}
       WITH count(c) AS ensured
       MATCH (a:Column {orgId: $org, dataset: $from.dataset, name: $from.column}),
             (k:Column {orgId: $org, dataset: $to.dataset, name: $to.column})
       MERGE (a)-[r:REFERENCES]->(k)
       SET r.cardinality = $cardinality, r.origin = 'DEFINED', r.coverage = coalesce($coverage, r.coverage),
         ${appendEdited('a')}`,
      { org, refs: [from, to], from, to, cardinality, coverage, edited: ['references'] },
    );
    return [a, k];
  });
}

/**
 * Deletes the reference `from` → `to` (whatever its origin) and adds `references` to `from`'s `edited` list (the
 * pipeline does not profile it again).
 * @returns false when the organization has no such reference.
 */
export async function deleteReference(driver: Driver, org: string, from: ColumnKey, to: ColumnKey): Promise<boolean> {
  return write(driver, async (tx) => {
    const r = await tx.run(
      `MATCH (a:Column {orgId: $org, dataset: $from.dataset, name: $from.column})
         -[r:REFERENCES]->(:Column {orgId: $org, dataset: $to.dataset, name: $to.column})
       DELETE r
       SET ${appendEdited('a')}
       RETURN count(*) AS n`,
      { org, from, to, edited: ['references'] },
    );
    return (toNumber(r.records[0]?.get('n')) ?? 0) > 0;
  });
}
