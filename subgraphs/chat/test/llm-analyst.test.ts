// The LLM plug inside the analyst (issue 8 §4), against REAL tables of two organizations (Delta through the real
// Spark Connect server, test/support/demo-lake.ts) and a local server speaking the chat-completions protocol
// (test/support/openai-server.ts). A model's plan goes through the same validation, compiler and org scope as the
// deterministic planner's: a plan over the caller's table is answered with the number computed here from the source
// file; a plan naming another organization's table, a column that does not exist or an identifier built to break out
// of quoting is refused before any SQL exists, and no number of the other organization reaches the answer.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLake, type Lake } from '@datapilot/lake-core';
import { createAnalyst, createLlmClient, type AnalystHooks } from '../src/analyst/index.ts';
import type { QueryPlan } from '../src/analyst/query-plan.ts';
import { readDemoFile } from './support/demo-catalog.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';
import {
  startOpenAiServer,
  statusReply,
  textReply,
  toolCallReply,
  type OpenAiServer,
} from './support/openai-server.ts';

const ORG_A = randomUUID();
const ORG_B = randomUUID();

/** The average temp_max of `year` in seattle-weather.csv, computed from the file. */
function avgTempMax(year: number): number {
  const rows = readDemoFile('seattle-weather.csv').filter((r) => String(r.date).startsWith(`${year}-`));
  return rows.reduce((s, r) => s + Number(r.temp_max), 0) / rows.length;
}

/** Every price of stocks.csv as the text a number would take in an answer (org B's data). */
const stockPrices = () => readDemoFile('stocks.csv').map((r) => String(r.price));

const avgPlan = (year: number, table = 'seattle_weather', column = 'temp_max'): QueryPlan => ({
  table,
  joins: [],
  aggregate: 'AVG',
  measure: { table, column },
  percentile: null,
  metric: null,
  group: null,
  filters: [{ column: { table, column: 'date' }, timePart: 'YEAR', op: '=', values: [year] }],
  order: 'DESC',
  limit: null,
});

describe('the analyst with the LLM plug, on real tables of two organizations', () => {
  let demo: DemoLake;
  let lake: Lake;
  let server: OpenAiServer;
  const warnings: string[] = [];

  beforeAll(async () => {
    server = await startOpenAiServer();
    demo = await createDemoLake();
    await demo.write(ORG_A, ['seattle_weather', 'penguins']);
    await demo.write(ORG_B, ['stocks']);
    lake = createLake({ spark: demo.spark, store: demo.store });
  }, 280_000);

  afterAll(async () => {
    await server?.close();
    await lake?.close();
    await demo?.cleanup();
  });

  const analyst = () =>
    createAnalyst({
      llm: createLlmClient({ url: server.url, model: 'test-model', apiKey: 'sk-test', timeoutMs: 5_000 }),
      onWarning: (what) => warnings.push(what),
    });

  /** Hooks that record what the analyst reports. */
  function recorder() {
    const seen = { plans: [] as QueryPlan[], sql: [] as string[], deltas: [] as string[] };
    const hooks: AnalystHooks = {
      onPlan: (p) => void seen.plans.push(p),
      onSql: (s) => void seen.sql.push(s),
      onTextDelta: (d) => void seen.deltas.push(d),
    };
    return { seen, hooks };
  }

  it("answers the model's plan over the caller's table, with the model's streamed words", async () => {
    const tokens = ['The average', ' temp_max in 2014', ' was 17.0 °C.'];
    server.enqueue(toolCallReply('query_plan', avgPlan(2014), { pieces: 5 }), textReply(tokens));
    const first = server.requests.length;
    const { seen, hooks } = recorder();
    const answer = await analyst().answer(
      'How warm was 2014 on average?',
      { lake: lake.forTenant({ orgId: ORG_A }), orgId: ORG_A },
      hooks,
    );
    expect(answer.plan).toEqual(avgPlan(2014));
    expect(seen.plans).toEqual([avgPlan(2014)]);
    expect(answer.result!.rows).toHaveLength(1);
    expect(answer.result!.rows[0]![0] as number).toBeCloseTo(avgTempMax(2014), 9);
    expect(answer.streamed).toBe(true);
    expect(seen.deltas).toEqual(tokens);
    expect(answer.text).toBe(tokens.join(''));
    // What the model was shown: org A's tables, never org B's; then the result for the text.
    const [planReq, writeReq] = server.requests.slice(first);
    const system: string = planReq!.body.messages[0].content;
    expect(system).toContain('Table seattle_weather');
    expect(system).toContain('Table penguins');
    expect(system).not.toContain('stocks');
    expect(writeReq!.body.messages.at(-1).content).toContain(String(answer.result!.rows[0]![0]));
  }, 120_000);

  it('a follow-up: the previous plan goes to the model as a tool call, its new plan is answered', async () => {
    server.enqueue(toolCallReply('query_plan', avgPlan(2015), { pieces: 3 }));
    const first = server.requests.length;
    const answer = await analyst().answer('And in 2015?', {
      lake: lake.forTenant({ orgId: ORG_A }),
      orgId: ORG_A,
      history: [{ question: 'How warm was 2014 on average?', plan: avgPlan(2014) }],
    });
    expect(answer.result!.rows[0]![0] as number).toBeCloseTo(avgTempMax(2015), 9);
    const msgs = server.requests[first]!.body.messages;
    const call = msgs.find((m: any) => m.role === 'assistant').tool_calls[0];
    expect(JSON.parse(call.function.arguments)).toEqual(avgPlan(2014));
    expect(msgs.at(-1)).toEqual({ role: 'user', content: 'And in 2015?' });
  }, 120_000);

  it("refuses a plan naming another organization's table, a missing column, or a quoting break-out", async () => {
    const refusals: [QueryPlan, RegExp][] = [
      [avgPlan(2014, 'stocks', 'price'), /stocks/],
      [{ ...avgPlan(2014), table: `org=${ORG_B}/stocks` }, /stocks/],
      [avgPlan(2014, 'seattle_weather', 'humidity'), /humidity/],
      [{ ...avgPlan(2014), table: 'seattle_weather` UNION SELECT price FROM `stocks' }, /UNION/],
    ];
    for (const [plan, named] of refusals) {
      server.enqueue(toolCallReply('query_plan', plan, { pieces: 4 }));
      const first = server.requests.length;
      const { seen, hooks } = recorder();
      const answer = await analyst().answer(
        'What was the average price?',
        { lake: lake.forTenant({ orgId: ORG_A }), orgId: ORG_A },
        hooks,
      );
      expect(answer.plan).toBeNull();
      expect(answer.sql).toBeNull();
      expect(answer.result).toBeNull();
      expect(seen.sql).toEqual([]); // no SQL was ever made
      expect(answer.text).toMatch(/refused/);
      expect(answer.text).toMatch(named);
      expect(server.requests.length - first).toBe(1); // no answer-writing request either
    }
  }, 120_000);

  it("the second organization, given a model that names the first one's table, gets no number from it", async () => {
    server.enqueue(toolCallReply('query_plan', avgPlan(2014), { pieces: 2 }));
    const answer = await analyst().answer('How warm was 2014 on average?', {
      lake: lake.forTenant({ orgId: ORG_B }),
      orgId: ORG_B,
    });
    expect(answer.result).toBeNull();
    expect(answer.text).toMatch(/seattle_weather/); // named as what is missing
    expect(answer.text).not.toContain(avgTempMax(2014).toFixed(1));
    expect(answer.text).toContain('stocks'); // its own table is what it can ask about
    // And org A, given a model that names org B's table: nothing of stocks.
    server.enqueue(toolCallReply('query_plan', avgPlan(2014, 'stocks', 'price')));
    const a = await analyst().answer('Average price?', { lake: lake.forTenant({ orgId: ORG_A }), orgId: ORG_A });
    expect(a.result).toBeNull();
    const prices = new Set(stockPrices());
    for (const n of a.text.match(/\d+(\.\d+)?/g) ?? []) expect(prices.has(n)).toBe(false);
  }, 120_000);

  it("the model's abstention is the answer's reason", async () => {
    server.enqueue(toolCallReply('abstain', { reason: 'no table holds humidity' }));
    const answer = await analyst().answer('How humid was 2014?', {
      lake: lake.forTenant({ orgId: ORG_A }),
      orgId: ORG_A,
    });
    expect(answer.result).toBeNull();
    expect(answer.text).toContain('no table holds humidity');
  }, 120_000);

  it('a model server that fails leaves the deterministic analyst to answer', async () => {
    server.enqueue(statusReply(503));
    warnings.length = 0;
    const answer = await analyst().answer('What is the average temp_max in 2014?', {
      lake: lake.forTenant({ orgId: ORG_A }),
      orgId: ORG_A,
    });
    expect(answer.result!.rows[0]![0] as number).toBeCloseTo(avgTempMax(2014), 9);
    expect(answer.streamed).toBe(false);
    expect(warnings).toHaveLength(1);
  }, 120_000);
});
