/**
 * Writes the demo organization's semantic layer ({@link demoSemanticLayer}) into Neo4j for an organization, in the
 * shape the pipeline's publish and profile steps write it (through the graph subgraph's test writers,
 * subgraphs/graph/test/graph-fixture.ts), so that the chat analyst's Neo4j source reads it back as the pipeline
 * would have left it. Used by the analyst's catalog-cache test and by bench/chat.ts.
 */
import type { Driver } from 'neo4j-driver';
import {
  upsertDatasets,
  writeColumnProfiles,
  writeReferences,
  type ColumnProfileInput,
  type DatasetInput,
} from '../../../graph/test/graph-fixture.ts';
import { DEMO_TABLES, demoSemanticLayer } from './demo-catalog.ts';

/**
 * Writes the demo layer of `tables` (names of {@link DEMO_TABLES}) for `orgId`: a Dataset per table (Delta version
 * 0), its profiled Column nodes, and the references between columns of those tables.
 */
export async function writeDemoSemanticLayer(driver: Driver, orgId: string, tables: readonly string[]): Promise<void> {
  const layer = demoSemanticLayer();
  const datasets = layer.datasets.filter((d) => tables.includes(d.name));
  const inputs: DatasetInput[] = datasets.map((d) => ({
    name: d.name,
    rowCount: 0,
    deltaVersion: 0,
    columns: DEMO_TABLES[d.name]![1].map(([name, type]) => ({ name, type, nullable: true })),
  }));
  await upsertDatasets(driver, orgId, inputs);
  for (const [i, d] of datasets.entries()) {
    const profiles: ColumnProfileInput[] = d.columns.map((c) => ({
      name: c.name,
      ...(c.description ? { description: c.description } : {}),
      ...(c.semanticType ? { semanticType: c.semanticType } : {}),
      ...(c.unit ? { unit: c.unit } : {}),
      synonyms: c.synonyms,
      sampleValues: c.values,
      valuesComplete: c.valuesComplete,
      aliasNames: c.aliases.map((a) => a.name),
      aliasValues: c.aliases.map((a) => a.value),
      ...(c.min !== null ? { minValue: c.min } : {}),
      ...(c.max !== null ? { maxValue: c.max } : {}),
      isKey: c.isKey,
      ...(c.distinctCount !== null ? { distinctCount: c.distinctCount } : {}),
    }));
    await writeColumnProfiles(driver, orgId, inputs[i]!, profiles);
  }
  await writeReferences(
    driver,
    orgId,
    layer.relationships
      .filter((r) => tables.includes(r.from.table) && tables.includes(r.to.table))
      .map((r) => ({
        from: { dataset: r.from.table, column: r.from.column },
        to: { dataset: r.to.table, column: r.to.column },
        cardinality: r.cardinality,
        origin: 'PROFILED' as const,
        coverage: 1,
      })),
  );
}
