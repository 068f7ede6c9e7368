/**
 * The analyst keeps each organization's catalog between questions (analyst.ts `catalogOf`, with the planner's
 * indexes of it) while the organization's lake listing and semantic layer are unchanged. Against the REAL engines:
 * Delta tables written through Spark Connect (test/support/demo-lake.ts), read through lake-core's OrgLake; the
 * semantic layer written into Neo4j as the pipeline writes it (test/support/demo-graph.ts) and read by the Neo4j
 * source main.ts uses. Checked here: a second organization never gets the first one's catalog; an edit of the
 * semantic layer and a new table each give a new catalog; an unchanged layer keeps its identity across reads.
 * Expected counts are computed from the source file (penguins.json), not by the analyst.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from 'neo4j-driver';
import { createLake, type Lake } from '@datapilot/lake-core';
import { createAnalyst, createNeo4jSemanticSource } from '../src/analyst/index.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';
import { readDemoFile } from './support/demo-catalog.ts';
import { writeDemoSemanticLayer } from './support/demo-graph.ts';
import { connectNeo4j, deleteOrgs } from '../../graph/test/graph-fixture.ts';

/** Penguins per species, counted from the source file (nulls left out, as the planner's IS NOT NULL does). */
function speciesCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of readDemoFile('penguins.json')) {
    const s = r.species as string | null;
    if (s) out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

describe('the analyst keeps a catalog per organization, on real Delta tables and a real Neo4j layer', () => {
  const orgA = randomUUID();
  const orgB = randomUUID();
  let demo: DemoLake;
  let lake: Lake;
  let neo: { driver: Driver; close(): Promise<void> };

  beforeAll(async () => {
    neo = await connectNeo4j();
    demo = await createDemoLake();
    await demo.write(orgA, ['penguins']);
    // Both organizations have the same layer in Neo4j; only A has the table in its lake.
    await writeDemoSemanticLayer(neo.driver, orgA, ['penguins']);
    await writeDemoSemanticLayer(neo.driver, orgB, ['penguins']);
    lake = createLake({ spark: demo.spark, store: demo.store });
  }, 180_000);

  afterAll(async () => {
    await lake?.close();
    await demo?.cleanup();
    if (neo) {
      await deleteOrgs(neo.driver, [orgA, orgB]);
      await neo.close();
    }
  });

  const QUESTION = 'How many penguins are there of each species?';
  const rowsOf = (r: unknown[][] | undefined) => Object.fromEntries((r ?? []).map(([k, n]) => [k, n]));

  it('a second organization never gets the first one’s catalog; its new table gives it a new one', async () => {
    const analyst = createAnalyst({ semantic: createNeo4jSemanticSource(neo.driver, { ttlMs: 0 }) });
    const ask = (orgId: string) => analyst.answer(QUESTION, { lake: lake.forTenant({ orgId }), orgId });
    const expected = speciesCounts();

    const a1 = await ask(orgA);
    expect(rowsOf(a1.result?.rows)).toEqual(expected);

    // B asks right after A, through the same analyst: its catalog is its own (no tables), so it abstains and its
    // text names no table of A.
    const b1 = await ask(orgB);
    expect(b1.plan).toBeNull();
    expect(b1.result).toBeNull();
    expect(b1.text).not.toMatch(/penguins/);

    // A again: its catalog is still its own.
    const a2 = await ask(orgA);
    expect(rowsOf(a2.result?.rows)).toEqual(expected);

    // B's lake gets the table: its listing changed, so its catalog is built again and it answers.
    await demo.write(orgB, ['penguins']);
    const b2 = await ask(orgB);
    expect(rowsOf(b2.result?.rows)).toEqual(expected);
  }, 180_000);

  it('an edit of the semantic layer gives a new catalog; an unchanged layer keeps its identity', async () => {
    const source = createNeo4jSemanticSource(neo.driver, { ttlMs: 0 });
    const analyst = createAnalyst({ semantic: source });
    const question = 'How many penguins are there per breed?';
    const ask = () => analyst.answer(question, { lake: lake.forTenant({ orgId: orgA }), orgId: orgA });

    // Read twice without a change: the same object (so the analyst's catalog of A is reused).
    const first = await source.load(orgA);
    expect(await source.load(orgA)).toBe(first);

    // "breed" names nothing yet: the analyst abstains.
    const before = await ask();
    expect(before.plan).toBeNull();

    // The administrator adds "breed" as a synonym of species (what the graph subgraph's updateColumn writes).
    await neo.driver.executeQuery(
      `MATCH (c:Column {orgId: $org, dataset: 'penguins', name: 'species'}) SET c.synonyms = ['breed']`,
      { org: orgA },
    );
    const edited = await source.load(orgA);
    expect(edited).not.toBe(first);
    expect(
      edited.datasets.find((d) => d.name === 'penguins')!.columns.find((c) => c.name === 'species')!.synonyms,
    ).toEqual(['breed']);

    const after = await ask();
    expect(after.plan).toMatchObject({
      table: 'penguins',
      aggregate: 'COUNT',
      group: { column: { table: 'penguins', column: 'species' } },
    });
    expect(rowsOf(after.result?.rows)).toEqual(speciesCounts());

    // The edit was A's: B's layer has no such synonym.
    const b = await source.load(orgB);
    expect(b.datasets.find((d) => d.name === 'penguins')!.columns.find((c) => c.name === 'species')!.synonyms).toEqual(
      [],
    );
  }, 180_000);
});
