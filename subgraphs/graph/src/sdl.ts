import { printSubgraphSchema } from '@apollo/subgraph';
import { buildGraphSchema } from './schema.ts';

let cached: Promise<string> | undefined;

/**
 * The graph subgraph's SDL as composition needs it: the schema @neo4j/graphql generates from
 * `schema.graphql` (root fields `datasets`, `datasetsConnection`; types Dataset, DatasetColumn, DatasetEdge,
 * DatasetsConnection, PageInfo @shareable, the lineage types LineageRun, LineageUpload, LineageProduced and
 * DatasetRunsConnection / DatasetRunsRelationship, the enums UploadFormat and LoadMode shared with the lake
 * subgraph, SortDirection, DateTime and the *Sort, *Where and *ScalarFilters inputs), printed with
 * `printSubgraphSchema`. Built without a database; cached per process.
 * @throws Error when the type definitions do not build.
 */
export function graphSubgraphSdl(): Promise<string> {
  cached ??= buildGraphSchema()
    .then(printSubgraphSchema)
    .catch((e: unknown) => {
      cached = undefined;
      throw e;
    });
  return cached;
}
