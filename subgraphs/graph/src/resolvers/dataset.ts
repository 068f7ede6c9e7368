/** The stored form of `Dataset.columns`: three parallel lists on the node (see schema.graphql). */
type StoredColumns = {
  columnNames?: string[] | null;
  columnTypes?: string[] | null;
  columnNullable?: boolean[] | null;
  columnDescriptions?: string[] | null;
};

/** One element of `Dataset.columns`. */
export type DatasetColumn = { name: string; type: string; nullable: boolean; description: string | null };

/**
 * Custom resolvers handed to @neo4j/graphql. `Dataset.columns` zips the parallel lists that its
 * `@customResolver(requires: ...)` makes @neo4j/graphql fetch with the node (same query, same auth filter).
 */
export const datasetResolvers = {
  Dataset: {
    columns(source: StoredColumns): DatasetColumn[] {
      const names = source.columnNames ?? [];
      return names.map((name, i) => ({
        name,
        type: source.columnTypes?.[i] ?? 'unknown',
        nullable: source.columnNullable?.[i] ?? true,
        description: source.columnDescriptions?.[i] || null,
      }));
    },
    table(source: { name: string }) {
      return { __typename: 'LakeTable', name: source.name };
    },
  },
};
