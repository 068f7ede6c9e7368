/** One end of a reference as `DatasetColumn.outgoing` / `referencedBy` project it (the other column, the edge). */
type StoredReference = {
  dataset: string;
  column: string;
  cardinality: string;
  origin: string;
  coverage: number | null;
};

/** What `Dataset.relationships` requires (its `@customResolver(requires: ...)`, fetched in the dataset's query). */
type StoredRelationships = {
  name: string;
  columns?: { name: string; outgoing?: StoredReference[]; referencedBy?: StoredReference[] }[] | null;
};

/** One element of `Dataset.relationships`: a reference from a column to a key, both by names. */
export type DatasetRelationship = {
  from: { dataset: string; column: string };
  to: { dataset: string; column: string };
  cardinality: string;
  origin: string;
  coverage: number | null;
};

/**
 * The references of a dataset's columns, out of what `Dataset.relationships` requires: each column's outgoing
 * references (`from` is the column) and incoming ones (`to` is the column), each pair once (a reference between two
 * columns of the same dataset is seen from both ends), ordered by `from` then `to` (dataset, column). Every column at
 * either end has passed the @authorization filter of its type in the dataset's query.
 */
export function datasetRelationships(source: StoredRelationships): DatasetRelationship[] {
  const byKey = new Map<string, DatasetRelationship>();
  for (const col of source.columns ?? []) {
    const self = { dataset: source.name, column: col.name };
    const add = (from: DatasetRelationship['from'], to: DatasetRelationship['to'], r: StoredReference) => {
      byKey.set(JSON.stringify([from.dataset, from.column, to.dataset, to.column]), {
        from,
        to,
        cardinality: r.cardinality,
        origin: r.origin,
        coverage: r.coverage ?? null,
      });
    };
    for (const r of col.outgoing ?? []) add(self, { dataset: r.dataset, column: r.column }, r);
    for (const r of col.referencedBy ?? []) add({ dataset: r.dataset, column: r.column }, self, r);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

/**
 * Custom resolvers handed to @neo4j/graphql (fields declared with `@customResolver` in schema.graphql; what they
 * require is fetched in the dataset's own query, under the same rules).
 */
export const datasetResolvers = {
  Dataset: {
    relationships: datasetRelationships,
    table(source: { name: string }) {
      return { __typename: 'LakeTable', name: source.name };
    },
  },
};
