/**
 * The optional LLM plug (issue 8 §4, contract 5): a client of an OpenAI-compatible chat-completions server that
 * (1) turns a question into a {@link QueryPlan} through tool calling and (2) streams the answer text.
 *
 * Protocol (the OpenAI chat-completions API, which llama.cpp, vLLM, Ollama, LM Studio and hosted gateways speak):
 * `POST <url>/chat/completions` with a JSON body, `Authorization: Bearer <key>` when a key is set, `stream: true`.
 * The reply is server-sent events: each event's `data:` is a `chat.completion.chunk` object whose
 * `choices[0].delta` carries `content` (a piece of text) and/or `tool_calls` fragments
 * `{index, id?, type?, function: {name?, arguments?}}` — the first fragment of a call has its id and name, the
 * following ones only more `arguments` text, concatenated by `index` — and whose last choice carries a
 * `finish_reason` (`stop`, `tool_calls`, `length`, ...); the stream ends with `data: [DONE]`.
 *
 * The model never writes SQL: `plan()` returns the `query_plan` tool's arguments parsed as JSON and UNVALIDATED; the
 * analyst validates them against the caller's catalog (validatePlan, sql.ts), which refuses another organization's
 * table or a missing column, then compiles them itself. What the model reads (the catalog text, the history, the
 * question, result rows) is the caller's organization's own, so a prompt injected through a question or a column
 * description can at worst produce a plan over that organization's own tables, which the validator still checks.
 *
 * Bounds: one deadline per request (`timeoutMs`, connection to last byte), the bytes of one response
 * ({@link LLM_LIMITS}.responseBytes), the arguments of one tool call, the length of the answer text, the size of
 * the catalog text, of the history and of the result rows sent.
 */
import { DataPilotError } from '@datapilot/common';
import { QUERY_PLAN_JSON_SCHEMA, type QueryPlan } from './query-plan.ts';
import type { Catalog, LakeResult, PriorTurn } from './types.ts';

/** Default bounds of {@link createLlmClient} (each can be overridden in its options). */
export const LLM_LIMITS = {
  /** Bytes of one response body (SSE text) read at most; beyond, the request is aborted: UPSTREAM_UNAVAILABLE. */
  responseBytes: 1024 * 1024,
  /** Characters of one tool call's `arguments` at most; beyond: UPSTREAM_UNAVAILABLE. */
  toolArgumentChars: 64 * 1024,
  /** Characters of an answer text; beyond, the stream is cut there and `…` added. */
  answerChars: 8000,
  /** Characters of the catalog text in the system prompt (sample values are dropped first, then tables). */
  catalogChars: 48 * 1024,
  /** Earlier turns of the conversation sent with a question (the newest ones). */
  historyTurns: 8,
  /** Result rows sent to `write()`, and the characters of their text. */
  resultRows: 50,
  resultChars: 8 * 1024,
  /** Characters of an abstention reason kept (the model's `abstain` reason or its text without a tool call). */
  reasonChars: 500,
} as const;

/** How to reach the server (README, Configuration: `ANALYST_LLM_*`). */
export type LlmClientOptions = {
  /** The API base, e.g. `http://127.0.0.1:8080/v1` or `https://api.openai.com/v1`; `/chat/completions` is appended. */
  url: string;
  /** The model name sent as `model`; empty: the field is left out (servers that serve one model accept that). */
  model: string;
  /** Sent as `Authorization: Bearer <apiKey>`; empty: no Authorization header. */
  apiKey?: string;
  /** Deadline of one request, from sending it to the last byte of its streamed reply, in milliseconds. */
  timeoutMs: number;
  /** Override of {@link LLM_LIMITS}.responseBytes. */
  maxResponseBytes?: number;
  /** Override of {@link LLM_LIMITS}.toolArgumentChars. */
  maxToolArgumentChars?: number;
  /** Override of {@link LLM_LIMITS}.answerChars. */
  maxAnswerChars?: number;
};

/**
 * What the model is told about the organization's data: a plain description the analyst fills from its catalog
 * and the semantic layer ({@link catalogPromptOf} does it from a {@link Catalog}). Every field past the names is
 * optional; what is absent is not mentioned.
 */
export type CatalogPrompt = {
  tables: {
    name: string;
    description?: string | null;
    rowCount?: number | null;
    columns: {
      name: string;
      /** The lake type (Spark type name: `string`, `double`, `date`, ...). */
      type: string;
      /** TIME, CATEGORY, MEASURE, IDENTIFIER, GEO_CODE or TEXT. */
      semanticType?: string | null;
      unit?: string | null;
      description?: string | null;
      /** Phrases that name the column. */
      synonyms?: string[];
      /** Stored values, most frequent first; `valuesComplete`: they are every distinct value. */
      sampleValues?: string[];
      valuesComplete?: boolean;
      /** Names a user may say for a stored value (`Texas` → `TX`). */
      aliases?: { name: string; value: string }[];
      min?: string | null;
      max?: string | null;
      isKey?: boolean;
    }[];
    metrics?: { name: string; description?: string | null; aggregate: string; column: string | null }[];
  }[];
  /** Declared relationships: every `from` value is a value of the key `to` (the joins a plan may use). */
  relationships?: {
    from: { table: string; column: string };
    to: { table: string; column: string };
    cardinality: string;
  }[];
};

/** The result of {@link LlmClient.plan}: the tool arguments as parsed JSON (NOT validated), or an abstention. */
export type LlmPlanResult = { plan: unknown } | { abstain: string };

/** The client of contract 5. Every method throws DataPilotError UPSTREAM_UNAVAILABLE / UPSTREAM_TIMEOUT. */
export interface LlmClient {
  /**
   * Asks the model for the plan of `question`, with the catalog, the conversation's earlier turns (newest last; the
   * newest {@link LLM_LIMITS}.historyTurns are sent) and tools `query_plan` / `abstain` (tool choice required).
   * Returns `{ plan }`, the `query_plan` arguments parsed as JSON and unvalidated; `{ abstain: reason }` when the
   * model called `abstain`, answered without a tool call (its text is the reason), called an unknown tool or sent
   * arguments that are not JSON.
   * @throws DataPilotError UPSTREAM_UNAVAILABLE (refused connection, non-2xx status, malformed or oversized
   *   stream), UPSTREAM_TIMEOUT (past `timeoutMs`); `signal`'s reason when `signal` aborts.
   */
  plan(input: {
    question: string;
    catalog: CatalogPrompt;
    history: PriorTurn[];
    signal?: AbortSignal;
  }): Promise<LlmPlanResult>;
  /**
   * Streams the answer text of a computed plan: each piece of text is passed to `onDelta` as it arrives, in order;
   * resolves with their concatenation ('' when the model wrote nothing). The prompt holds the question, the plan's
   * summary and the result (at most {@link LLM_LIMITS}.resultRows rows / resultChars characters).
   * @throws as {@link LlmClient.plan}.
   */
  write(
    input: { question: string; plan: QueryPlan; summary: string; result: LakeResult; signal?: AbortSignal },
    onDelta: (delta: string) => void,
  ): Promise<string>;
}

/** The tool the model answers a plan with; its parameters are the plan's JSON Schema. */
export const QUERY_PLAN_TOOL = {
  type: 'function',
  function: {
    name: 'query_plan',
    description:
      'Answer the question with one query plan over the tables described in the system message (names exactly as ' +
      'listed). The plan is compiled to SQL by the system; never write SQL.',
    parameters: QUERY_PLAN_JSON_SCHEMA,
  },
} as const;

/** The tool the model declines with: `reason` says what the data lacks and what it can answer. */
export const ABSTAIN_TOOL = {
  type: 'function',
  function: {
    name: 'abstain',
    description:
      'Decline: the tables cannot answer the question, or it names something (a value, a column, a table) the ' +
      'data does not hold. Say what is missing.',
    parameters: {
      type: 'object',
      additionalProperties: false,
      required: ['reason'],
      properties: {
        reason: { type: 'string', description: 'What is missing, in one or two sentences, for the user.' },
      },
    },
  },
} as const;

/** The instructions of the planning request, before the catalog text. */
const PLAN_INSTRUCTIONS = `You translate a question about an organization's data into one query plan, by calling the tool query_plan, or you decline by calling the tool abstain. Never answer in text; never write SQL.

Plan rules:
- Use only the tables, columns and relationships listed below, spelled exactly as listed. A column is {"table", "column"}; the table is the base table or a joined one.
- aggregate: COUNT (rows; measure null), COUNT_DISTINCT, SUM, AVG, MIN, MAX, MEDIAN, PERCENTILE (percentile = the fraction, 0.9 for the 90th), or VALUES (list the measure's values of the rows the filters select; only with filters).
- "Which X has the highest/lowest Y": group by X, aggregate Y, order DESC (highest) or ASC (lowest), limit 1. Words such as warmest, longest, largest, cheapest mean MAX or MIN of the column whose meaning and unit fit.
- Time: a filter or group on a date column may use timePart YEAR, QUARTER, MONTH (1-12), YEAR_MONTH ('YYYY-MM'), DAY_OF_WEEK (1 = Sunday .. 7 = Saturday) or DATE ('YYYY-MM-DD'); "between 2010 and 2012" is BETWEEN [2010, 2012] on YEAR (inclusive).
- Filter values must be stored values: use the listed values and aliases (a user's name for a stored code, e.g. a state name for its two-letter code). If the question names a value the data does not hold, abstain and say so.
- Joins follow the listed relationships only: {"column": base column, "table": joined table, "references": its key column}.
- Follow-ups ("and in 2015?", "what about X?", "show it by month") reuse the previous plan and change only what the follow-up changes.
- metric: the name of a listed metric when the plan computes it, else null. limit: top-N of a grouped plan, else null.
- Abstain (with a reason naming what is missing) when the tables cannot answer the question as asked; never drop a condition the user asked for.`;

/** The instructions of the answer-writing request. */
const WRITE_INSTRUCTIONS = `You write the answer to a question about an organization's data from the result of a query that was already computed. Use only the values in the result; do not invent or recompute numbers. Answer in one to three short sentences, naming the things the result names (the group and its value). If the result has no rows, say that no data matched. No SQL, no markdown tables.`;

/**
 * The {@link CatalogPrompt} of a catalog (tables, columns with their semantic layer fields, metrics,
 * relationships), for {@link LlmClient.plan}. Row counts are not in a {@link Catalog}; set `rowCount` yourself.
 */
export function catalogPromptOf(catalog: Catalog): CatalogPrompt {
  return {
    tables: catalog.tables.map((t) => ({
      name: t.name,
      description: t.description ?? null,
      columns: t.columns.map((c) => ({
        name: c.name,
        type: c.type,
        semanticType: c.semanticType ?? null,
        unit: c.unit ?? null,
        description: c.description ?? null,
        synonyms: c.synonyms ?? [],
        sampleValues: c.values?.values ?? [],
        valuesComplete: c.values?.complete ?? false,
        aliases: c.aliases ?? [],
        min: c.min ?? null,
        max: c.max ?? null,
        isKey: c.isKey ?? false,
      })),
      metrics: (t.metrics ?? []).map((m) => ({
        name: m.name,
        description: m.description,
        aggregate: m.aggregate,
        column: m.column,
      })),
    })),
    relationships: (catalog.relationships ?? []).map((r) => ({ ...r })),
  };
}

/** A value as one quoted item of a list in the prompt, cut at `max` characters. */
const quoted = (v: string, max = 60) => JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v);

/** A free text (description) on one line, cut at `max` characters. */
const oneLine = (v: string, max = 200) => {
  const s = v.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
};

/** A description as a clause of a catalog line: one line, without its closing period. */
const clause = (v: string) => oneLine(v).replace(/[.;:]+$/, '');

/** One table as prompt text, with at most `samples` values and aliases per column. */
function tableText(t: CatalogPrompt['tables'][number], samples: number): string {
  let head = `Table ${t.name}`;
  if (t.rowCount != null) head += ` (${t.rowCount} rows)`;
  if (t.description) head += `: ${clause(t.description)}`;
  const lines = [head];
  for (const c of t.columns) {
    const tags = [c.type, c.semanticType, c.unit ? `unit ${c.unit}` : null, c.isKey ? 'key' : null].filter(Boolean);
    let line = `  - ${c.name} (${tags.join(', ')})`;
    if (c.description) line += `: ${clause(c.description)}`;
    if (c.synonyms?.length)
      line += `; also called ${c.synonyms
        .slice(0, 10)
        .map((s) => quoted(s, 40))
        .join(', ')}`;
    if (c.min != null && c.max != null) line += `; range ${c.min} to ${c.max}`;
    const values = c.sampleValues ?? [];
    if (samples > 0 && values.length) {
      const shown = values.slice(0, samples);
      const all = c.valuesComplete && shown.length === values.length;
      line += `; ${all ? 'all values' : 'values include'} ${shown.map((v) => quoted(v)).join(', ')}`;
    }
    const aliases = c.aliases ?? [];
    if (samples > 0 && aliases.length) {
      const shown = aliases.slice(0, Math.max(samples, 60));
      line += `; aliases ${shown.map((a) => `${quoted(a.name, 40)} = ${quoted(a.value, 40)}`).join(', ')}`;
    }
    lines.push(line);
  }
  for (const m of t.metrics ?? [])
    lines.push(
      `  metric ${m.name} = ${m.aggregate}(${m.column ?? '*'})${m.description ? `: ${clause(m.description)}` : ''}`,
    );
  return lines.join('\n');
}

/**
 * The catalog as compact prompt text of at most `maxChars` characters: every table with its columns (type,
 * semantic type, unit, key, description, synonyms, range, values, aliases) and metrics, then the relationships.
 * When the text is too long, fewer sample values are shown (20, then 5, then none); when it still is, the last
 * tables are left out and a line says how many.
 */
export function catalogText(catalog: CatalogPrompt, maxChars: number = LLM_LIMITS.catalogChars): string {
  const rel = (catalog.relationships ?? []).map(
    (r) => `  ${r.from.table}.${r.from.column} -> ${r.to.table}.${r.to.column} (${r.cardinality})`,
  );
  const relText = rel.length ? `\nRelationships (joins):\n${rel.join('\n')}` : '\nRelationships (joins): none';
  let text = '';
  for (const samples of [20, 5, 0]) {
    const tables = catalog.tables.map((t) => tableText(t, samples));
    text = tables.join('\n') + relText;
    if (text.length <= maxChars) return text;
    if (samples > 0) continue;
    // No values left to drop: keep the tables that fit.
    const kept: string[] = [];
    let size = relText.length + 60;
    for (const t of tables) {
      if (size + t.length + 1 > maxChars) break;
      kept.push(t);
      size += t.length + 1;
    }
    const omitted = tables.length - kept.length;
    text = `${kept.join('\n')}\n(${omitted} more table${omitted === 1 ? '' : 's'} not shown)${relText}`;
  }
  return text.slice(0, maxChars);
}

/** The `messages` of a planning request: instructions + catalog, earlier turns as tool calls, the question. */
export function planMessages(input: { question: string; catalog: CatalogPrompt; history: PriorTurn[] }): unknown[] {
  const messages: unknown[] = [
    { role: 'system', content: `${PLAN_INSTRUCTIONS}\n\nThe organization's data:\n${catalogText(input.catalog)}` },
  ];
  const turns = input.history.slice(-LLM_LIMITS.historyTurns);
  turns.forEach((turn, i) => {
    const id = `call_turn_${i + 1}`;
    const call = turn.plan
      ? { name: 'query_plan', arguments: JSON.stringify(turn.plan) }
      : { name: 'abstain', arguments: JSON.stringify({ reason: 'Not answered.' }) };
    messages.push(
      { role: 'user', content: oneLine(turn.question, 1000) },
      { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: call }] },
      { role: 'tool', tool_call_id: id, content: turn.plan ? 'Answered with this plan.' : 'Not answered.' },
    );
  });
  messages.push({ role: 'user', content: input.question });
  return messages;
}

/** A cell as JSON text (bigint as a string, Date as ISO-8601, anything else through JSON). */
function cellJson(v: unknown): string {
  if (typeof v === 'bigint') return JSON.stringify(v.toString());
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (v === undefined) return 'null';
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return JSON.stringify(String(v));
  }
}

/**
 * A result as prompt text: the column names, then one JSON array per row, at most `maxRows` rows and `maxChars`
 * characters (whole rows only), then how many rows there are when not all are shown.
 */
export function resultText(
  result: LakeResult,
  maxRows: number = LLM_LIMITS.resultRows,
  maxChars: number = LLM_LIMITS.resultChars,
): string {
  const lines = [`columns: ${JSON.stringify(result.columns.map((c) => c.name))}`];
  let size = lines[0]!.length;
  let shown = 0;
  for (const row of result.rows.slice(0, maxRows)) {
    const line = `[${row.map(cellJson).join(',')}]`;
    if (size + line.length + 1 > maxChars) break;
    lines.push(line);
    size += line.length + 1;
    shown++;
  }
  if (!result.rows.length) lines.push('(no rows)');
  else if (shown < result.rows.length) lines.push(`(${shown} of ${result.rows.length} rows shown)`);
  return lines.join('\n');
}

/** The `messages` of an answer-writing request. */
export function writeMessages(input: {
  question: string;
  plan: QueryPlan;
  summary: string;
  result: LakeResult;
}): unknown[] {
  return [
    { role: 'system', content: WRITE_INSTRUCTIONS },
    {
      role: 'user',
      content:
        `Question: ${input.question}\n` +
        `What was computed: ${oneLine(input.summary, 1000)}\n` +
        `Result (${input.result.rows.length} row${input.result.rows.length === 1 ? '' : 's'}):\n` +
        resultText(input.result),
    },
  ];
}

/** One tool call being assembled from its fragments. */
type ToolCallAcc = { id: string; name: string; arguments: string };

/** What one streamed reply came to. */
type StreamOutcome = { content: string; toolCalls: ToolCallAcc[]; finishReason: string | null; truncated: boolean };

const unavailable = (why: string) => new DataPilotError('UPSTREAM_UNAVAILABLE', `The language model ${why}.`);

/**
 * Creates the client of contract 5 for one server. No request is made until {@link LlmClient.plan} or
 * {@link LlmClient.write} is called; each call is one `POST <url>/chat/completions`.
 */
export function createLlmClient(options: LlmClientOptions): LlmClient {
  const endpoint = `${options.url.replace(/\/+$/, '')}/chat/completions`;
  const maxBytes = options.maxResponseBytes ?? LLM_LIMITS.responseBytes;
  const maxArgs = options.maxToolArgumentChars ?? LLM_LIMITS.toolArgumentChars;
  const maxAnswer = options.maxAnswerChars ?? LLM_LIMITS.answerChars;

  /**
   * Sends one streamed request and reads its reply to the end ([DONE], or the end of the body after a
   * finish_reason), passing text pieces to `onContent`. `onContent` returning false stops reading (a full answer).
   */
  async function complete(
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
    onContent: (piece: string) => boolean,
  ): Promise<StreamOutcome> {
    signal?.throwIfAborted();
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const own = new AbortController();
    const combined = AbortSignal.any([deadline, own.signal, ...(signal ? [signal] : [])]);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    const payload = { ...(options.model ? { model: options.model } : {}), ...body, stream: true };
    /** The error to throw for a failure `e` (the deadline, the caller's abort, or the network). */
    const failure = (e: unknown, what: string): unknown => {
      if (signal?.aborted) return signal.reason;
      if (deadline.aborted) return new DataPilotError('UPSTREAM_TIMEOUT', 'The language model did not answer in time.');
      if (e instanceof DataPilotError) return e;
      return unavailable(what);
    };
    let res: Response;
    try {
      res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify(payload), signal: combined });
    } catch (e) {
      throw failure(e, 'server could not be reached');
    }
    const out: StreamOutcome = { content: '', toolCalls: [], finishReason: null, truncated: false };
    try {
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw unavailable(`server answered HTTP ${res.status}`);
      }
      if (!res.body) throw unavailable('server sent no body');
      const json = /^application\/json/i.test(res.headers.get('content-type') ?? '');
      const reader = res.body.getReader();
      const decoder = new TextDecoder('utf-8');
      const parser = json ? null : sseParser();
      let bytes = 0;
      let raw = '';
      let done = false;
      let stopped = false;
      const take = (chunk: unknown) => {
        if (applyChunk(chunk, out, maxArgs, onContent) === 'stop') stopped = true;
      };
      while (!done && !stopped) {
        const r = await reader.read();
        if (r.done) break;
        bytes += r.value.byteLength;
        if (bytes > maxBytes) throw unavailable(`reply exceeded ${maxBytes} bytes`);
        const text = decoder.decode(r.value, { stream: true });
        if (!parser) {
          raw += text;
          continue;
        }
        for (const data of parser.push(text)) {
          if (data.trim() === '[DONE]') {
            done = true;
            break;
          }
          take(parseJson(data, 'sent a malformed stream chunk'));
          if (stopped) break;
        }
      }
      if (stopped) {
        out.truncated = true;
        own.abort();
        await reader.cancel().catch(() => {});
        return out;
      }
      if (parser && !done) {
        // The end of the body: a last event without its blank line still counts.
        for (const data of parser.push(decoder.decode() + '\n\n')) {
          if (data.trim() === '[DONE]') done = true;
          else take(parseJson(data, 'sent a malformed stream chunk'));
        }
        if (!done && out.finishReason === null) throw unavailable('stream ended before it was complete');
      }
      if (!parser) {
        // A server that ignored `stream: true` and sent one chat.completion object.
        applyCompletion(parseJson(raw + decoder.decode(), 'sent a malformed reply'), out, maxArgs, onContent);
      }
      if (done) {
        own.abort(); // nothing more is read; release the connection
        await reader.cancel().catch(() => {});
      }
      return out;
    } catch (e) {
      own.abort();
      throw failure(e, 'sent a reply that could not be read');
    }
  }

  return {
    async plan({ question, catalog, history, signal }) {
      const body = {
        messages: planMessages({ question, catalog, history }),
        tools: [QUERY_PLAN_TOOL, ABSTAIN_TOOL],
        tool_choice: 'required',
        temperature: 0,
      };
      const out = await complete(body, signal, () => true);
      const call = out.toolCalls.find((c) => c && (c.name || c.arguments));
      if (!call) {
        const text = oneLine(out.content, LLM_LIMITS.reasonChars);
        return { abstain: text || 'The language model gave no plan.' };
      }
      let args: unknown;
      try {
        args = JSON.parse(call.arguments || '{}');
      } catch {
        return { abstain: 'The language model gave a plan that is not valid JSON.' };
      }
      if (call.name === 'query_plan') return { plan: args };
      if (call.name === 'abstain') {
        const reason = (args as { reason?: unknown } | null)?.reason;
        return {
          abstain:
            typeof reason === 'string' && reason.trim()
              ? oneLine(reason, LLM_LIMITS.reasonChars)
              : 'The language model declined without a reason.',
        };
      }
      return { abstain: 'The language model called a tool it was not given.' };
    },

    async write({ question, plan, summary, result, signal }, onDelta) {
      const body = { messages: writeMessages({ question, plan, summary, result }), temperature: 0 };
      let text = '';
      const out = await complete(body, signal, (piece) => {
        const room = maxAnswer - text.length;
        const part = piece.length > room ? piece.slice(0, room) : piece;
        if (part) {
          text += part;
          onDelta(part);
        }
        return piece.length <= room;
      });
      if (out.truncated) {
        text += '…';
        onDelta('…');
      }
      return text;
    },
  };
}

/** JSON.parse, or UPSTREAM_UNAVAILABLE `why`. */
function parseJson(text: string, why: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw unavailable(why);
  }
}

/** The error a server reports inside a 200 stream (`{"error": {...}}`), as UPSTREAM_UNAVAILABLE. */
function checkError(obj: Record<string, unknown>) {
  if (obj.error != null) throw unavailable('server reported an error');
}

/**
 * Applies one `chat.completion.chunk` to `out`: content pieces to `onContent` (returns 'stop' when it asks to
 * stop), tool-call fragments concatenated by index, the finish reason. Only choice 0 is read (n = 1).
 */
function applyChunk(
  chunk: unknown,
  out: StreamOutcome,
  maxArgs: number,
  onContent: (piece: string) => boolean,
): 'stop' | void {
  if (!chunk || typeof chunk !== 'object' || Array.isArray(chunk)) throw unavailable('sent a malformed stream chunk');
  const obj = chunk as Record<string, unknown>;
  checkError(obj);
  if (obj.choices === undefined) return; // e.g. a usage-only chunk
  if (!Array.isArray(obj.choices)) throw unavailable('sent a malformed stream chunk');
  const choice = (obj.choices as Record<string, unknown>[]).find((c) => (c?.index ?? 0) === 0);
  if (!choice || typeof choice !== 'object') return;
  if (typeof choice.finish_reason === 'string') out.finishReason = choice.finish_reason;
  const delta = choice.delta as Record<string, unknown> | null | undefined;
  if (!delta || typeof delta !== 'object') return;
  addToolCalls(delta.tool_calls, out, maxArgs);
  const piece = typeof delta.content === 'string' ? delta.content : '';
  const refusal = typeof delta.refusal === 'string' ? delta.refusal : '';
  for (const p of [piece, refusal]) {
    if (!p) continue;
    out.content += p;
    if (!onContent(p)) return 'stop';
  }
}

/** Applies a whole `chat.completion` object (a server that did not stream) to `out`. */
function applyCompletion(obj: unknown, out: StreamOutcome, maxArgs: number, onContent: (piece: string) => boolean) {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw unavailable('sent a malformed reply');
  checkError(obj as Record<string, unknown>);
  const choices = (obj as { choices?: unknown }).choices;
  const choice = Array.isArray(choices) ? (choices[0] as Record<string, unknown> | undefined) : undefined;
  const message = choice?.message as Record<string, unknown> | undefined;
  if (!message || typeof message !== 'object') throw unavailable('sent a malformed reply');
  if (typeof choice?.finish_reason === 'string') out.finishReason = choice.finish_reason;
  const calls = Array.isArray(message.tool_calls)
    ? message.tool_calls.map((c: unknown, index: number) => ({ ...(c as object), index }))
    : undefined;
  addToolCalls(calls, out, maxArgs);
  if (typeof message.content === 'string' && message.content) {
    out.content += message.content;
    if (!onContent(message.content)) out.truncated = true;
  }
}

/**
 * Adds tool-call fragments `{index, id?, function: {name?, arguments?}}` to `out.toolCalls[index]`: arguments are
 * concatenated; the id and name are set by the first fragment that has them (a name repeated by a later fragment
 * is kept once, a name sent in pieces is joined).
 */
function addToolCalls(raw: unknown, out: StreamOutcome, maxArgs: number) {
  if (raw == null) return;
  if (!Array.isArray(raw)) throw unavailable('sent a malformed tool call');
  for (const frag of raw as Record<string, unknown>[]) {
    if (!frag || typeof frag !== 'object') throw unavailable('sent a malformed tool call');
    const index = typeof frag.index === 'number' ? frag.index : 0;
    if (!Number.isInteger(index) || index < 0 || index > 15) throw unavailable('sent a malformed tool call');
    const acc = (out.toolCalls[index] ??= { id: '', name: '', arguments: '' });
    if (typeof frag.id === 'string' && !acc.id) acc.id = frag.id;
    const fn = frag.function as Record<string, unknown> | undefined;
    if (!fn || typeof fn !== 'object') continue;
    if (typeof fn.name === 'string' && fn.name && fn.name !== acc.name) acc.name += fn.name;
    const args =
      typeof fn.arguments === 'string'
        ? fn.arguments
        : fn.arguments && typeof fn.arguments === 'object'
          ? JSON.stringify(fn.arguments)
          : '';
    acc.arguments += args;
    if (acc.arguments.length > maxArgs) throw unavailable(`sent tool arguments longer than ${maxArgs} characters`);
  }
}

/**
 * An incremental server-sent-events parser (WHATWG HTML, "event stream interpretation"): lines end in CRLF, LF or
 * CR; `:` starts a comment; `data:` lines (one optional space after the colon) are joined with LF; a blank line
 * dispatches the event. `push` returns the data of the events completed by `text`. Other fields (event, id, retry)
 * are ignored: chat-completion chunks come as unnamed events.
 */
export function sseParser(): { push(text: string): string[] } {
  let buffer = '';
  let data: string[] = [];
  let hasData = false;
  return {
    push(text) {
      buffer += text;
      const events: string[] = [];
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const ch = buffer[i];
        if (ch !== '\n' && ch !== '\r') continue;
        // A CR at the very end may be the first half of a CRLF: wait for the next piece.
        if (ch === '\r' && i === buffer.length - 1) break;
        const line = buffer.slice(start, i);
        if (ch === '\r' && buffer[i + 1] === '\n') i++;
        start = i + 1;
        if (line === '') {
          if (hasData) events.push(data.join('\n'));
          data = [];
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') {
          data.push(value);
          hasData = true;
        }
      }
      buffer = buffer.slice(start);
      return events;
    },
  };
}
