// The LLM plug (issue 8 §4, contract 5) against a local server that speaks the OpenAI chat-completions streaming
// protocol (test/support/openai-server.ts): the request it sends, the reassembly of streamed tool calls, streamed
// text, and the failures (status, malformed stream, hang, oversized reply) with their codes. No engines needed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@datapilot/common';
import {
  catalogPromptOf,
  catalogText,
  createLlmClient,
  LLM_LIMITS,
  resultText,
  sseParser,
  type CatalogPrompt,
} from '../src/analyst/llm.ts';
import { QUERY_PLAN_JSON_SCHEMA, type QueryPlan } from '../src/analyst/query-plan.ts';
import type { LakeResult, PriorTurn } from '../src/analyst/types.ts';
import { CHAT_SERVICE_CONFIG } from '../src/config.ts';
import {
  chunkEvent,
  DONE,
  gate,
  startOpenAiServer,
  statusReply,
  textReply,
  toolCallReply,
  type OpenAiServer,
  type Step,
} from './support/openai-server.ts';

/** A small catalog with every kind of field the prompt shows. */
const CATALOG: CatalogPrompt = {
  tables: [
    {
      name: 'seattle_weather',
      description: 'Daily weather in Seattle',
      rowCount: 1461,
      columns: [
        { name: 'date', type: 'date', semanticType: 'TIME', min: '2012-01-01', max: '2015-12-31' },
        { name: 'temp_max', type: 'double', semanticType: 'MEASURE', unit: 'celsius', description: 'Highest of day' },
        {
          name: 'weather',
          type: 'string',
          semanticType: 'CATEGORY',
          sampleValues: ['rain', 'sun', 'fog', 'drizzle', 'snow'],
          valuesComplete: true,
        },
      ],
      metrics: [{ name: 'rainy_days', description: 'Days with rain', aggregate: 'COUNT', column: null }],
    },
    {
      name: 'airports',
      columns: [
        { name: 'iata', type: 'string', semanticType: 'IDENTIFIER', isKey: true },
        {
          name: 'state',
          type: 'string',
          semanticType: 'GEO_CODE',
          sampleValues: ['TX', 'CA'],
          aliases: [
            { name: 'Texas', value: 'TX' },
            { name: 'California', value: 'CA' },
          ],
        },
      ],
    },
    { name: 'flights', columns: [{ name: 'origin', type: 'string', semanticType: 'GEO_CODE' }] },
  ],
  relationships: [
    {
      from: { table: 'flights', column: 'origin' },
      to: { table: 'airports', column: 'iata' },
      cardinality: 'MANY_TO_ONE',
    },
  ],
};

/** A plan with every field set, and values that are multi-byte in UTF-8 (split across chunks below). */
const PLAN: QueryPlan = {
  table: 'flights',
  joins: [{ column: 'origin', table: 'airports', references: 'iata' }],
  aggregate: 'PERCENTILE',
  measure: { table: 'flights', column: 'delay' },
  percentile: 0.9,
  metric: null,
  group: { column: { table: 'airports', column: 'city' }, timePart: null },
  filters: [
    {
      column: { table: 'airports', column: 'city' },
      timePart: null,
      op: 'IN',
      values: ['Zürich', '東京', 'São Paulo'],
    },
    { column: { table: 'flights', column: 'date' }, timePart: 'YEAR', op: 'BETWEEN', values: [2010, 2012] },
  ],
  order: 'DESC',
  limit: 3,
};

const RESULT: LakeResult = {
  columns: [
    { name: 'city', type: 'string' },
    { name: 'p90_delay', type: 'double' },
  ],
  rows: [
    ['Zürich', 41.5],
    ['東京', 38],
  ],
};

let server: OpenAiServer;
beforeAll(async () => {
  server = await startOpenAiServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.requests.length = 0;
});

const client = (over: Partial<Parameters<typeof createLlmClient>[0]> = {}) =>
  createLlmClient({ url: server.url, model: 'test-model', apiKey: 'sk-test', timeoutMs: 5_000, ...over });

/** The DataPilot code of a rejection (or 'resolved'). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return (e as { code?: string }).code ?? `no code: ${String(e)}`;
  }
}

/** Step lists index a fresh request counter: the index of the next request this server will receive. */
const next = () => server.requests.length;

describe('plan(): the request', () => {
  it('posts to <url>/chat/completions with the bearer key, the model, stream, both tools and tool_choice required', async () => {
    server.enqueue(toolCallReply('query_plan', PLAN));
    const history: PriorTurn[] = [
      { question: 'What is the average temp_max in 2012?', plan: { ...PLAN, table: 'seattle_weather' } },
      { question: 'How tall is the Eiffel tower?', plan: null },
    ];
    await client().plan({ question: 'And in 2015?', catalog: CATALOG, history });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer sk-test');
    expect(req.headers['content-type']).toBe('application/json');
    const body = req.body;
    expect(body.model).toBe('test-model');
    expect(body.stream).toBe(true);
    expect(body.tool_choice).toBe('required');
    expect(body.tools.map((t: any) => [t.type, t.function.name])).toEqual([
      ['function', 'query_plan'],
      ['function', 'abstain'],
    ]);
    expect(body.tools[0].function.parameters).toEqual(JSON.parse(JSON.stringify(QUERY_PLAN_JSON_SCHEMA)));
    expect(body.tools[1].function.parameters).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['reason'],
      properties: { reason: expect.objectContaining({ type: 'string' }) },
    });

    // system (instructions + catalog), 3 messages per earlier turn, the question last.
    const msgs = body.messages;
    expect(msgs.map((m: any) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
      'user',
      'assistant',
      'tool',
      'user',
    ]);
    const system: string = msgs[0].content;
    expect(system).toContain(catalogText(CATALOG));
    for (const fact of [
      'Table seattle_weather (1461 rows): Daily weather in Seattle',
      'temp_max (double, MEASURE, unit celsius): Highest of day',
      'range 2012-01-01 to 2015-12-31',
      'all values "rain", "sun", "fog", "drizzle", "snow"',
      'iata (string, IDENTIFIER, key)',
      'aliases "Texas" = "TX", "California" = "CA"',
      'metric rainy_days = COUNT(*): Days with rain',
      'flights.origin -> airports.iata (MANY_TO_ONE)',
    ])
      expect(system).toContain(fact);
    // An answered turn is an assistant query_plan call carrying its plan, answered by a tool message of the same id.
    expect(msgs[1]).toEqual({ role: 'user', content: history[0]!.question });
    const call = msgs[2].tool_calls[0];
    expect(call.type).toBe('function');
    expect(call.function.name).toBe('query_plan');
    expect(JSON.parse(call.function.arguments)).toEqual(history[0]!.plan);
    expect(msgs[3].tool_call_id).toBe(call.id);
    expect(msgs[5].tool_calls[0].function.name).toBe('abstain');
    expect(msgs[6].tool_call_id).toBe(msgs[5].tool_calls[0].id);
    expect(msgs[5].tool_calls[0].id).not.toBe(call.id);
    expect(msgs[7]).toEqual({ role: 'user', content: 'And in 2015?' });
  });

  it('sends no Authorization header without a key and no model field without a model', async () => {
    server.enqueue(toolCallReply('query_plan', PLAN));
    await client({ apiKey: '', model: '' }).plan({ question: 'q', catalog: CATALOG, history: [] });
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
    expect('model' in server.requests[0]!.body).toBe(false);
  });

  it('sends only the newest turns of a long conversation', async () => {
    server.enqueue(toolCallReply('query_plan', PLAN));
    const history = Array.from({ length: 20 }, (_, i) => ({ question: `question ${i}`, plan: null }));
    await client().plan({ question: 'q', catalog: CATALOG, history });
    const users = server.requests[0]!.body.messages.filter((m: any) => m.role === 'user').map((m: any) => m.content);
    expect(users).toEqual([...history.slice(-LLM_LIMITS.historyTurns).map((h) => h.question), 'q']);
  });
});

describe('plan(): the reply', () => {
  it('reassembles a plan whose arguments come in 5 chunks, exactly', async () => {
    const json = JSON.stringify(PLAN);
    server.enqueue(toolCallReply('query_plan', json, { pieces: 5 }));
    const i = next();
    const out = await client().plan({ question: 'q', catalog: CATALOG, history: [] });
    expect(out).toEqual({ plan: PLAN });
    // What the server sent: a role chunk, the call's id + name with empty arguments, 5 argument fragments that are
    // not JSON on their own, a tool_calls finish, [DONE].
    const chunks = server
      .written(i)
      .map((w) => w.replace(/^data: /, '').trim())
      .map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
    expect(chunks).toHaveLength(9);
    const fragments = chunks.slice(2, 7).map((c) => c.choices[0].delta.tool_calls[0].function.arguments as string);
    expect(fragments.join('')).toBe(json);
    for (const f of fragments) expect(() => JSON.parse(f)).toThrow();
    expect(chunks[1].choices[0].delta.tool_calls[0]).toEqual({
      index: 0,
      id: 'call_1',
      type: 'function',
      function: { name: 'query_plan', arguments: '' },
    });
    expect(chunks[8]).toBe('[DONE]');
  });

  it('reassembles events cut mid-line and mid-character across network reads, CRLF endings and comments', async () => {
    const json = JSON.stringify(PLAN);
    const events = [
      ': keep-alive\n\n',
      chunkEvent({ role: 'assistant', content: null }).write,
      chunkEvent({
        tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'query_plan', arguments: '' } }],
      }).write,
      ...[json.slice(0, 40), json.slice(40, 200), json.slice(200)].map(
        (p) => chunkEvent({ tool_calls: [{ index: 0, function: { arguments: p } }] }).write,
      ),
      chunkEvent({}, 'tool_calls').write,
      DONE.write,
    ].map((e) => String(e).replace(/\n/g, '\r\n'));
    // The body's bytes in 7-byte writes (cutting CRLFs and the multi-byte characters of Zürich and 東京), each
    // after a pause so that they reach the client as separate reads.
    const bytes = Buffer.from(events.join(''), 'utf8');
    const steps: Step[] = [];
    for (let at = 0; at < bytes.length; at += 7) steps.push({ write: bytes.subarray(at, at + 7) }, { sleep: 1 });
    expect(bytes.length).toBeGreaterThan(Buffer.byteLength(events.join(''), 'latin1'));
    server.enqueue({ steps });
    expect(await client().plan({ question: 'q', catalog: CATALOG, history: [] })).toEqual({ plan: PLAN });
  });

  it('gives { abstain } for the abstain tool, and for text without a tool call', async () => {
    server.enqueue(toolCallReply('abstain', { reason: 'No table holds stock prices of 1990.' }, { pieces: 3 }));
    expect(await client().plan({ question: 'q', catalog: CATALOG, history: [] })).toEqual({
      abstain: 'No table holds stock prices of 1990.',
    });
    server.enqueue(textReply(['I cannot ', 'answer that ', 'from these tables.']));
    expect(await client().plan({ question: 'q', catalog: CATALOG, history: [] })).toEqual({
      abstain: 'I cannot answer that from these tables.',
    });
  });

  it('gives { abstain } for arguments that are not JSON and for a tool it was not given', async () => {
    server.enqueue(toolCallReply('query_plan', '{"table": "flights", "joins": [', { pieces: 2 }));
    const bad = await client().plan({ question: 'q', catalog: CATALOG, history: [] });
    expect(bad).toEqual({ abstain: expect.stringMatching(/not valid JSON/) });
    server.enqueue(toolCallReply('run_sql', { sql: 'SELECT 1' }));
    const other = await client().plan({ question: 'q', catalog: CATALOG, history: [] });
    expect(other).toEqual({ abstain: expect.stringMatching(/not given/) });
  });

  it('returns the arguments unvalidated (another org’s table is the analyst’s to refuse)', async () => {
    const foreign = { ...PLAN, table: 'org_b.secret_salaries', extra: 1 };
    server.enqueue(toolCallReply('query_plan', foreign, { pieces: 4 }));
    expect(await client().plan({ question: 'q', catalog: CATALOG, history: [] })).toEqual({ plan: foreign });
  });

  it('reads a server that ignored stream and sent one chat.completion object', async () => {
    const completion = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'c', type: 'function', function: { name: 'query_plan', arguments: JSON.stringify(PLAN) } },
            ],
          },
        },
      ],
    };
    server.enqueue({ headers: { 'content-type': 'application/json' }, steps: [{ write: JSON.stringify(completion) }] });
    expect(await client().plan({ question: 'q', catalog: CATALOG, history: [] })).toEqual({ plan: PLAN });
  });
});

describe('write(): streamed answer text', () => {
  it('passes each token to onDelta, in order, while the response is still open', async () => {
    const tokens = ['Zürich', ' has', ' the', ' highest', ' 90th', ' percentile', ' delay', ' (41.5).'];
    const hold = gate();
    server.enqueue(textReply(tokens, { 4: hold.promise }));
    const i = next();
    const deltas: string[] = [];
    let fourSeen!: () => void;
    const sawFour = new Promise<void>((r) => (fourSeen = r));
    let settled = false;
    let serverDone = false;
    const writing = client()
      .write(
        { question: 'Which city has the highest p90 delay?', plan: PLAN, summary: 'p90 of delay', result: RESULT },
        (d) => {
          deltas.push(d);
          if (deltas.length === 4) fourSeen();
        },
      )
      .finally(() => (settled = true));
    await sawFour;
    // Four tokens arrived while the server still holds the fifth: the response has not ended.
    void server.closed(i).then(() => (serverDone = true));
    await new Promise((r) => setImmediate(r));
    expect(deltas).toEqual(tokens.slice(0, 4));
    expect(settled).toBe(false);
    expect(serverDone).toBe(false);
    hold.open();
    const text = await writing;
    expect(deltas).toEqual(tokens);
    expect(text).toBe(tokens.join(''));

    // The prompt: no tools, the question, the summary, the result rows.
    const body = server.requests[i]!.body;
    expect(body.stream).toBe(true);
    expect(body.tools).toBeUndefined();
    const user = body.messages.at(-1).content as string;
    expect(user).toContain('Question: Which city has the highest p90 delay?');
    expect(user).toContain('What was computed: p90 of delay');
    expect(user).toContain('columns: ["city","p90_delay"]\n["Zürich",41.5]\n["東京",38]');
  });

  it('bounds the rows it sends: 50 of 200, whole rows within 8 kB', async () => {
    const many: LakeResult = {
      columns: [{ name: 'n', type: 'bigint' }],
      rows: Array.from({ length: 200 }, (_, k) => [BigInt(k)]),
    };
    const text = resultText(many);
    expect(text.split('\n')).toEqual([
      'columns: ["n"]',
      ...Array.from({ length: 50 }, (_, k) => `["${k}"]`),
      '(50 of 200 rows shown)',
    ]);
    const wide: LakeResult = {
      columns: [{ name: 's', type: 'string' }],
      rows: Array.from({ length: 50 }, () => ['x'.repeat(1000)]),
    };
    const w = resultText(wide);
    expect(w.length).toBeLessThanOrEqual(LLM_LIMITS.resultChars + 40);
    // 1004 characters per row line + newline: 8 of them fit in 8192 after the header.
    expect(w.split('\n').filter((l) => l.startsWith('["')).length).toBe(8);
    expect(w.endsWith('(8 of 50 rows shown)')).toBe(true);
  });

  it('cuts an answer longer than the limit, ends it with …, and stops reading', async () => {
    const tokens = Array.from({ length: 100 }, () => 'abcdefghij');
    server.enqueue(textReply(tokens));
    const deltas: string[] = [];
    const text = await client({ maxAnswerChars: 95 }).write(
      { question: 'q', plan: PLAN, summary: 's', result: RESULT },
      (d) => deltas.push(d),
    );
    expect(text).toBe('abcdefghij'.repeat(9) + 'abcde' + '…');
    expect(deltas.join('')).toBe(text);
  });
});

describe('failures', () => {
  it('a 500, a 401 and a refused connection: UPSTREAM_UNAVAILABLE', async () => {
    server.enqueue(statusReply(500), statusReply(401, 'Incorrect API key provided.'));
    expect(await codeOf(client().plan({ question: 'q', catalog: CATALOG, history: [] }))).toBe('UPSTREAM_UNAVAILABLE');
    const e401 = await client()
      .plan({ question: 'q', catalog: CATALOG, history: [] })
      .catch((e) => e);
    expect(e401.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(e401.message).toBe('The language model server answered HTTP 401.');
    const port = await closedPort();
    const refused = createLlmClient({ url: `http://127.0.0.1:${port}/v1`, model: 'm', timeoutMs: 5_000 });
    expect(await codeOf(refused.plan({ question: 'q', catalog: CATALOG, history: [] }))).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('a malformed chunk, an error event, a stream that ends early: UPSTREAM_UNAVAILABLE', async () => {
    const role = chunkEvent({ role: 'assistant', content: null });
    server.enqueue(
      { steps: [role, { write: 'data: {"id":"x","choices":[{"delta":{"content":"a"\n\n' }, DONE] },
      { steps: [role, { write: 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n' }] },
      { steps: [role, chunkEvent({ content: 'half an ans' })] },
      { steps: [role, { write: 'data: [1,2]\n\n' }, DONE] },
    );
    for (let k = 0; k < 4; k++)
      expect(await codeOf(client().write({ question: 'q', plan: PLAN, summary: 's', result: RESULT }, () => {}))).toBe(
        'UPSTREAM_UNAVAILABLE',
      );
  });

  it('a model that hangs past the deadline: UPSTREAM_TIMEOUT, and the connection is dropped', async () => {
    server.enqueue({
      steps: [chunkEvent({ role: 'assistant', content: null }), chunkEvent({ content: 'The' }), { hang: true }],
    });
    const i = next();
    const t0 = performance.now();
    const deltas: string[] = [];
    const code = await codeOf(
      client({ timeoutMs: 300 }).write({ question: 'q', plan: PLAN, summary: 's', result: RESULT }, (d) =>
        deltas.push(d),
      ),
    );
    const ms = performance.now() - t0;
    expect(code).toBe('UPSTREAM_TIMEOUT');
    expect(deltas).toEqual(['The']);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2_000);
    expect(await server.closed(i)).toBe('client-closed');
    // Headers sent, then nothing.
    server.enqueue({ steps: [{ hang: true }] });
    expect(await codeOf(client({ timeoutMs: 300 }).plan({ question: 'q', catalog: CATALOG, history: [] }))).toBe(
      'UPSTREAM_TIMEOUT',
    );
    // Not even a status line.
    const silent = await silentServer();
    try {
      const c = createLlmClient({ url: silent.url, model: 'm', timeoutMs: 300 });
      expect(await codeOf(c.plan({ question: 'q', catalog: CATALOG, history: [] }))).toBe('UPSTREAM_TIMEOUT');
    } finally {
      await silent.close();
    }
  });

  it('a reply over 1 MiB: UPSTREAM_UNAVAILABLE, the rest is not read', async () => {
    // 16 MB of text (a model that does not stop), more than loopback socket buffers hold.
    const token = 'y'.repeat(1000);
    const steps: Step[] = [chunkEvent({ role: 'assistant', content: '' })];
    for (let k = 0; k < 16_000; k++) steps.push(chunkEvent({ content: token }));
    steps.push(chunkEvent({}, 'stop'), DONE);
    server.enqueue({ steps });
    const i = next();
    const e = await client()
      .plan({ question: 'q', catalog: CATALOG, history: [] })
      .catch((x) => x);
    expect(e.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(e.message).toBe(`The language model reply exceeded ${LLM_LIMITS.responseBytes} bytes.`);
    expect(await server.closed(i)).toBe('client-closed');
    expect(server.written(i).length).toBeLessThan(16_000);
  });

  it('tool arguments over the limit: UPSTREAM_UNAVAILABLE', async () => {
    server.enqueue(toolCallReply('query_plan', `{"table":"${'t'.repeat(70_000)}"}`, { pieces: 10 }));
    const e = await client()
      .plan({ question: 'q', catalog: CATALOG, history: [] })
      .catch((x) => x);
    expect(e.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(e.message).toMatch(/tool arguments longer than 65536/);
  });

  it('the caller’s signal aborts the request with its reason', async () => {
    const hold = gate();
    server.enqueue(textReply(['one', 'two'], { 1: hold.promise }));
    const i = next();
    const ac = new AbortController();
    const deltas: string[] = [];
    const e = await client()
      .write({ question: 'q', plan: PLAN, summary: 's', result: RESULT, signal: ac.signal }, (d) => {
        deltas.push(d);
        ac.abort();
      })
      .catch((x) => x);
    expect(e.name).toBe('AbortError');
    expect(deltas).toEqual(['one']);
    expect(await server.closed(i)).toBe('client-closed');
    hold.open();
    // An already aborted signal sends nothing.
    const before = server.requests.length;
    const e2 = await client()
      .plan({ question: 'q', catalog: CATALOG, history: [], signal: ac.signal })
      .catch((x) => x);
    expect(e2.name).toBe('AbortError');
    expect(server.requests.length).toBe(before);
  });
});

describe('prompt pieces', () => {
  it('catalogText stays within its bound: values dropped first, then tables', () => {
    const values = Array.from({ length: 10_000 }, (_, k) => `value-${k}`);
    const big: CatalogPrompt = {
      tables: Array.from({ length: 100 }, (_, t) => ({
        name: `table_${t}`,
        columns: Array.from({ length: 30 }, (_, c) => ({
          name: `column_${c}`,
          type: 'string',
          semanticType: 'CATEGORY',
          sampleValues: values,
        })),
      })),
    };
    const text = catalogText(big);
    expect(text.length).toBeLessThanOrEqual(LLM_LIMITS.catalogChars);
    expect(text).not.toContain('value-0');
    expect(text).toMatch(/\(\d+ more tables not shown\)/);
    const small = catalogText({ tables: big.tables.slice(0, 1) });
    expect(small).toContain('values include "value-0"');
    expect(small).toContain('"value-19"');
    expect(small).not.toContain('"value-20"');
  });

  it('catalogPromptOf carries the semantic layer fields of a Catalog', () => {
    const p = catalogPromptOf({
      tables: [
        {
          name: 'airports',
          columns: [
            {
              table: 'airports',
              name: 'state',
              type: 'string',
              kind: 'string',
              values: { values: ['TX'], complete: true },
              semanticType: 'GEO_CODE',
              aliases: [{ name: 'Texas', value: 'TX' }],
              isKey: false,
            },
          ],
        },
      ],
      relationships: [
        { from: { table: 'f', column: 'o' }, to: { table: 'airports', column: 'iata' }, cardinality: 'MANY_TO_ONE' },
      ],
    });
    expect(p.tables[0]!.columns[0]).toMatchObject({
      name: 'state',
      semanticType: 'GEO_CODE',
      sampleValues: ['TX'],
      valuesComplete: true,
      aliases: [{ name: 'Texas', value: 'TX' }],
    });
    expect(catalogText(p)).toContain('state (string, GEO_CODE); all values "TX"; aliases "Texas" = "TX"');
  });

  it('sseParser: LF, CRLF and CR endings, multi-line data, comments, other fields', () => {
    const p = sseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual(['a']);
    expect(p.push(': comment\nevent: x\nid: 3\ndata:b\ndata: c\n\ndata: d\r\rdata')).toEqual(['b\nc', 'd']);
    expect(p.push(': e\n\n')).toEqual(['e']);
  });
});

describe('config', () => {
  const pick = (env: Record<string, string>) =>
    loadConfig(
      {
        ANALYST_LLM_URL: CHAT_SERVICE_CONFIG.ANALYST_LLM_URL,
        ANALYST_LLM_MODEL: CHAT_SERVICE_CONFIG.ANALYST_LLM_MODEL,
        ANALYST_LLM_API_KEY: CHAT_SERVICE_CONFIG.ANALYST_LLM_API_KEY,
        ANALYST_LLM_TIMEOUT_MS: CHAT_SERVICE_CONFIG.ANALYST_LLM_TIMEOUT_MS,
      },
      env,
    );
  it('is off by default and reads the four variables', () => {
    expect(pick({})).toEqual({
      ANALYST_LLM_URL: '',
      ANALYST_LLM_MODEL: '',
      ANALYST_LLM_API_KEY: '',
      ANALYST_LLM_TIMEOUT_MS: 60_000,
    });
    expect(
      pick({
        ANALYST_LLM_URL: 'http://127.0.0.1:8080/v1',
        ANALYST_LLM_MODEL: 'qwen2.5',
        ANALYST_LLM_API_KEY: 'k',
        ANALYST_LLM_TIMEOUT_MS: '2500',
      }),
    ).toEqual({
      ANALYST_LLM_URL: 'http://127.0.0.1:8080/v1',
      ANALYST_LLM_MODEL: 'qwen2.5',
      ANALYST_LLM_API_KEY: 'k',
      ANALYST_LLM_TIMEOUT_MS: 2500,
    });
    expect(() => pick({ ANALYST_LLM_URL: 'not a url' })).toThrow(/ANALYST_LLM_URL/);
    expect(() => pick({ ANALYST_LLM_URL: 'ftp://x/v1' })).toThrow(/http\(s\)/);
    expect(() => pick({ ANALYST_LLM_TIMEOUT_MS: '10' })).toThrow(/ANALYST_LLM_TIMEOUT_MS/);
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A server that accepts requests and never answers (no status line). */
async function silentServer() {
  const s = createServer(() => {});
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: async () => {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    },
  };
}
