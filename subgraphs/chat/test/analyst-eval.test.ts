/**
 * The analyst on the development set, end to end against REAL tables: the demo files are written as Delta tables
 * of an org through the real Spark Connect server (test/support/demo-lake.ts), and the analyst asks them through
 * the real OrgLake of @datapilot/lake-core (its value samples, then one SQL statement per question). Each answer is
 * checked by the rules of /work/shared/eval/README.md against the expected values in questions.dev.jsonl, which
 * were computed independently from the source files. The score (correct / abstained / wrong) is printed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLake, type Lake } from '@datapilot/lake-core';
import { createAnalyst, type AnalystAnswer } from '../src/analyst/index.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';
import { demoSemanticLayer, readDemoFile } from './support/demo-catalog.ts';
import { checkAnswer, type Expectation } from '../../../scripts/lib/eval-check.ts';

type Question = { id: string; question: string; expect: Expectation; followup_of?: string };

const EVAL_DIR = process.env.DATAPILOT_EVAL_DIR ?? '/work/shared/eval';
const DEV_SET_PATH = `${EVAL_DIR}/questions.dev.jsonl`;
const DEV_SETS = ['questions.dev.jsonl', 'questions.dev2.jsonl'].map((f) => `${EVAL_DIR}/${f}`).filter(existsSync);

describe.skipIf(!existsSync(DEV_SET_PATH))('analyst on the dev set, against real Delta tables', () => {
  const orgId = randomUUID();
  const questions: Question[] = DEV_SETS.flatMap((f) =>
    readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  );
  const semantic = { load: async () => demoSemanticLayer() };
  let demo: DemoLake;
  let lake: Lake;
  const outcomes: { id: string; outcome: 'correct' | 'abstained' | 'wrong'; sql: string | null }[] = [];

  beforeAll(async () => {
    demo = await createDemoLake();
    await demo.write(orgId);
    lake = createLake({ spark: demo.spark, store: demo.store });
  });

  afterAll(async () => {
    const n = outcomes.length;
    const count = (o: string) => outcomes.filter((x) => x.outcome === o).length;
    process.stderr.write(
      `[analyst dev-set score] ${count('correct')}/${n} correct, ${count('abstained')}/${n} abstained, ${count('wrong')}/${n} wrong\n`,
    );
    await lake?.close();
    await demo?.cleanup();
  });

  it('answers every development question correctly', async () => {
    const analyst = createAnalyst({ semantic });
    const orgLake = lake.forTenant({ orgId });
    const plans = new Map<string, AnalystAnswer>();
    for (const q of questions) {
      const prior = q.followup_of ? plans.get(q.followup_of) : undefined;
      const history = prior ? [{ question: '', plan: prior.plan }] : [];
      const answer = await analyst.answer(q.question, { lake: orgLake, orgId, history });
      plans.set(q.id, answer);
      // The eval README's rules, as `npm run eval` applies them (scripts/lib/eval-check.ts, their one implementation).
      const { outcome } = checkAnswer(q.expect, answer.result);
      outcomes.push({ id: q.id, outcome, sql: answer.sql });
      if (outcome !== 'correct') process.stderr.write(`${q.id} ${outcome}: ${answer.text}\n  ${answer.sql}\n`);
    }
    expect(outcomes.filter((o) => o.outcome !== 'correct')).toEqual([]);
  }, 280_000);

  it('groups an integer month column by month name, in calendar order (averages by hand from the JSON file)', async () => {
    const analyst = createAnalyst({ semantic });
    const answer = await analyst.answer('Average unemployment rate by month', {
      lake: lake.forTenant({ orgId }),
      orgId,
    });
    const rows = readDemoFile('unemployment-across-industries.json') as { month: number; rate: number }[];
    const months = [
      'January',
      'February',
      'March',
      'April',
      'May',
      'June',
      'July',
      'August',
      'September',
      'October',
      'November',
      'December',
    ];
    const expected = months.map((name, i) => {
      const of = rows.filter((r) => r.month === i + 1).map((r) => r.rate);
      return [name, of.reduce((a, b) => a + b, 0) / of.length];
    });
    expect(answer.result!.rows.map((r) => r[0])).toEqual(months);
    answer.result!.rows.forEach((r, i) =>
      expect(Math.abs((r[1] as number) - (expected[i]![1] as number))).toBeLessThan(1e-9),
    );
    expect(answer.chart).toMatchObject({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json' });
  }, 120_000);

  it('states the numbers of its result in its text', async () => {
    const analyst = createAnalyst({ semantic });
    const answer = await analyst.answer('What was the total precipitation in 2013?', {
      lake: lake.forTenant({ orgId }),
      orgId,
    });
    // 828.0 mm: the sum of 2013's precipitation in seattle-weather.csv (the dev set's dev-07).
    expect(answer.text).toBe('The total precipitation in seattle_weather where the year of date is 2013 is 828.');
  }, 120_000);
});
