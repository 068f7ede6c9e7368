/**
 * Top-N answers keep ties, end to end against REAL tables: flights-20k.json written as a Delta table through the
 * real Spark Connect server (test/support/demo-lake.ts) and asked through the real OrgLake of @datapilot/lake-core.
 * The expected groups and counts are computed here, independently, from the source file
 * (node_modules/vega-datasets/data/flights-20k.json): count the rows per origin (or destination) with plain
 * JavaScript, rank them (1 + the number of groups with a strictly better count), keep ranks <= N, and order by
 * count then label (code-unit order, which is Spark's string order for these ASCII codes).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLake, type Lake, type OrgLake } from '@datapilot/lake-core';
import { createAnalyst, type Analyst } from '../src/analyst/index.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';
import { demoSemanticLayer, VEGA_DATA_DIR } from './support/demo-catalog.ts';

type Flight = { origin: unknown; destination: unknown };
const FLIGHTS: Flight[] = JSON.parse(readFileSync(path.join(VEGA_DATA_DIR, 'flights-20k.json'), 'utf8'));

/** Rows per value of `key` among `flights` (values that are not non-empty strings are NULL in the table). */
function countBy(flights: Flight[], key: keyof Flight): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of flights) {
    const v = f[key];
    if (typeof v === 'string' && v !== '') counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

/** The groups ranked `n` or better (`desc`: most first), as [label, count], by count then label. */
function rankedTop(counts: Map<string, number>, n: number, desc: boolean): [string, number][] {
  const better = (a: number, b: number) => (desc ? a > b : a < b);
  const all = [...counts.entries()];
  return all
    .filter(([, c]) => 1 + all.filter(([, d]) => better(d, c)).length <= n)
    .sort(([la, a], [lb, b]) => (a !== b ? (better(a, b) ? -1 : 1) : la < lb ? -1 : la > lb ? 1 : 0));
}

describe('analyst: top-N keeps ties, against real Delta tables', () => {
  const orgId = randomUUID();
  let demo: DemoLake;
  let lake: Lake;
  let orgLake: OrgLake;
  let analyst: Analyst;
  const origins = countBy(FLIGHTS, 'origin');

  beforeAll(async () => {
    demo = await createDemoLake();
    await demo.write(orgId, ['flights']);
    lake = createLake({ spark: demo.spark, store: demo.store });
    orgLake = lake.forTenant({ orgId });
    // The semantic layer as profiled from the source files (values of origin/destination), for flights only.
    analyst = createAnalyst({ semantic: { load: async () => demoSemanticLayer() } });
  });

  afterAll(async () => {
    await lake?.close();
    await demo?.cleanup();
  });

  it('the fewest flights: every origin with the minimum count, named in the text', async () => {
    const min = Math.min(...origins.values());
    const tied = [...origins.entries()]
      .filter(([, c]) => c === min)
      .map(([o]) => o)
      .sort();
    // The QA finding: 9 origins with 1 flight each (APF first), not a tie broken silently.
    expect({ min, n: tied.length, first: tied[0] }).toEqual({ min: 1, n: 9, first: 'APF' });

    const answer = await analyst.answer('Which origin airport has the fewest flights?', { lake: orgLake, orgId });
    expect(answer.result!.columns.map((c) => c.name)).toEqual(['origin', 'row_count']);
    expect(answer.result!.rows).toEqual(tied.map((o) => [o, min]));
    const named =
      tied.slice(0, 10).join(', ') + (tied.length > 10 ? `, and ${tied.length - 10} more (see the table)` : '');
    expect(answer.text).toBe(
      `${tied.length} values of origin tie for the lowest number of rows in flights, with ${min} each: ${named}.`,
    );
  }, 120_000);

  it('the most flights: one origin, no tie (DFW, as in the dev set)', async () => {
    const max = Math.max(...origins.values());
    const top = [...origins.entries()].filter(([, c]) => c === max).map(([o]) => o);
    expect({ top, max }).toEqual({ top: ['DFW'], max: 1103 });

    const answer = await analyst.answer('Which origin airport has the most flights?', { lake: orgLake, orgId });
    expect(answer.result!.rows).toEqual([['DFW', max]]);
    expect(answer.text).toBe(`The origin with the highest number of rows in flights is DFW (${max}).`);
  }, 120_000);

  it('bottom 10: all groups tied at the 10th value are kept, and the text says which place is shared', async () => {
    const expected = rankedTop(origins, 10, false);
    const last = expected.at(-1)![1];
    const tiedAtLast = expected.filter(([, c]) => c === last).length;
    const place = expected.length - tiedAtLast + 1;
    expect(expected.length).toBeGreaterThan(10);

    const answer = await analyst.answer('Bottom 10 origins by number of flights', { lake: orgLake, orgId });
    expect(answer.params).toEqual({ p1: 10 });
    expect(answer.result!.rows).toEqual(expected);
    const pairs = expected.slice(0, 10).map(([o, c]) => `${o}: ${c}`);
    expect(answer.text).toBe(
      `Bottom 10 origin by number of rows in flights: ${expected.length} rows, as ${tiedAtLast} tie for ` +
        `${place}th place with ${last} each: ${pairs.join(', ')}, and ${expected.length - 10} more (see the table).`,
    );
  }, 120_000);

  it('top 4 destinations from SEA: the filter applies before the ranking, the tie for 4th is kept', async () => {
    const fromSea = countBy(
      FLIGHTS.filter((f) => f.origin === 'SEA'),
      'destination',
    );
    const expected = rankedTop(fromSea, 4, true);
    const last = expected.at(-1)![1];
    const tiedAtLast = expected.filter(([, c]) => c === last).length;
    expect(expected.length).toBeGreaterThan(4);

    const answer = await analyst.answer('Top 4 destinations by number of flights from SEA', { lake: orgLake, orgId });
    expect(answer.params).toEqual({ p1: 'SEA', p2: 4 });
    expect(answer.result!.rows).toEqual(expected);
    expect(answer.text).toBe(
      `Top 4 destination by number of rows in flights where origin is "SEA": ${expected.length} rows, as ` +
        `${tiedAtLast} tie for ${expected.length - tiedAtLast + 1}th place with ${last} each: ` +
        `${expected.map(([d, c]) => `${d}: ${c}`).join(', ')}.`,
    );
  }, 120_000);
});
