/**
 * The event stream of one message: the push iterator (pure) and openMessageEventStream with the real tenant store
 * on real PostgreSQL — replay of events published before the subscriber attached, events published while it loads
 * the message (the subscribe-after-complete race), a message already final, another tenant's message, and a
 * message nobody is answering in this process.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataPilotError, createLogger, type TenantContext } from '@datapilot/common';
import type { Analyst, AnalystHooks } from '../src/analyst/index.ts';
import type { QueryPlan } from '../src/analyst/query-plan.ts';
import { createChatStore, type ChatStore, type Message, type MessagePatch } from '../src/data/chat-store.ts';
import {
  createMessageEventHub,
  createPushIterator,
  isFinalEvent,
  openMessageEventStream,
  type MessageEvent,
  type MessageEventHub,
  type MessageEventKind,
} from '../src/events.ts';
import { createResponder, publishedEvents, textPieces } from '../src/responder.ts';
import { startChatFixture, type ChatFixture } from './support/chat-fixture.ts';

const tenant = (orgId: string, userId: string): TenantContext =>
  Object.freeze({
    orgId,
    userId,
    role: 'ANALYST',
    sessionId: randomUUID(),
    credential: 'session',
    expiresAtMs: Date.now() + 600_000,
    token: 'unused',
  });

async function drain(it: AsyncIterableIterator<MessageEvent>) {
  const out: MessageEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('createPushIterator', () => {
  it('yields queued and later values in order and ends after the last one', async () => {
    let ended = 0;
    const { push, iterator } = createPushIterator<number>(
      (v) => v < 0,
      () => ended++,
    );
    push(1);
    push(2);
    const pending = iterator.next();
    expect(await pending).toEqual({ value: 1, done: false });
    const values: number[] = [];
    const all = (async () => {
      for await (const v of iterator) values.push(v);
    })();
    push(3);
    push(-1);
    push(99); // after the last value: dropped
    await all;
    expect(values).toEqual([2, 3, -1]);
    expect(ended).toBe(1);
  });

  it('return() ends it at once, even while a next() waits', async () => {
    let ended = 0;
    const { push, iterator } = createPushIterator<number>(
      () => false,
      () => ended++,
    );
    const waiting = iterator.next();
    await iterator.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
    push(1);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(ended).toBe(1);
  });
});

describe('textPieces', () => {
  it('cuts at spaces and concatenates back to the text', () => {
    const text = 'The number of rows per species in penguins: Adelie: 152, Gentoo: 124, Chinstrap: 68.';
    const pieces = textPieces(text, 16);
    expect(pieces.join('')).toBe(text);
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.slice(0, -1).every((p) => p.endsWith(' '))).toBe(true);
    expect(textPieces('')).toEqual([]);
  });
});

describe('openMessageEventStream over the PostgreSQL outbox', () => {
  let fx: ChatFixture;
  let store: ChatStore;
  let hub: MessageEventHub;
  const hubs: MessageEventHub[] = [];
  const me = tenant(randomUUID(), randomUUID());
  const newHub = () => {
    const h = createMessageEventHub({ pool: fx.pool, logger: createLogger('events-test', 'error'), resyncMs: 60_000 });
    hubs.push(h);
    return h;
  };

  beforeAll(async () => {
    fx = await startChatFixture();
    store = createChatStore(fx.pool, me);
    hub = newHub();
  }, 120_000);
  afterAll(async () => {
    for (const h of hubs) await h.close();
    await fx?.stop();
  });

  async function pendingMessage(): Promise<Message> {
    const c = await store.createConversation('events');
    return (await store.addExchange(c.id, 'How many penguins are there?'))!.assistantMessage;
  }
  /**
   * Stores event `sequence` of `m` as the responder does: a piece in the outbox, or a step (STREAMING, or the final
   * status) with its event in one transaction.
   */
  const publish = async (m: Message, sequence: number, kind: MessageEventKind, textDelta: string | null = null) => {
    if (kind === 'TEXT_DELTA') return store.appendTextDelta(m.id, sequence, textDelta!);
    const status = kind === 'COMPLETE' || kind === 'FAILED' ? kind : 'STREAMING';
    const patch = kind === 'SQL' ? { status, sql: `SELECT ${sequence}` } : { status };
    return (await store.updateAssistantMessage(m.id, patch as MessagePatch, { sequence, kind })) !== null;
  };
  const shape = (e: MessageEvent) => [e.sequence, e.kind, e.textDelta, e.message.status, e.message.text];

  it('replays what was stored before, takes what arrives while loading, then live events, each once', async () => {
    const m = await pendingMessage();
    await publish(m, 1, 'STATUS');
    await publish(m, 2, 'TEXT_DELTA', 'a ');
    // Stored while the subscriber loads the message (between attaching and the answer of PostgreSQL); a second
    // writer of the same number is refused by the outbox.
    const reader = {
      orgId: me.orgId,
      getMessage: async (id: string) => {
        await publish(m, 3, 'TEXT_DELTA', 'b ');
        await expect(publish(m, 3, 'TEXT_DELTA', 'x ')).rejects.toMatchObject({ code: '23505' });
        return store.getMessage(id);
      },
    };
    const stream = (await openMessageEventStream(hub, reader, m.id))!;
    await publish(m, 4, 'SQL');
    await publish(m, 5, 'TEXT_DELTA', 'c');
    await publish(m, 6, 'COMPLETE');
    expect(await publish(m, 7, 'TEXT_DELTA', 'late')).toBe(false); // after the final event: refused, never delivered
    const events = await drain(stream);
    expect(events.map(shape)).toEqual([
      [1, 'STATUS', null, 'STREAMING', ''],
      [2, 'TEXT_DELTA', 'a ', 'STREAMING', 'a '],
      [3, 'TEXT_DELTA', 'b ', 'STREAMING', 'a b '],
      [4, 'SQL', null, 'STREAMING', ''],
      [5, 'TEXT_DELTA', 'c', 'STREAMING', 'a b c'],
      [6, 'COMPLETE', null, 'COMPLETE', ''],
    ]);
    // The snapshots are the stored steps: a piece carries the step before it.
    expect(events.map((e) => e.message.sql)).toEqual([null, null, null, 'SELECT 4', 'SELECT 4', 'SELECT 4']);
    expect(events.at(-1)!.message).toEqual(await store.getMessage(m.id));
  });

  it('a message already final in the database: one final event with the stored message', async () => {
    const m = await pendingMessage();
    const done = await store.updateAssistantMessage(m.id, {
      status: 'FAILED',
      errorCode: 'UPSTREAM_TIMEOUT',
      text: 'x',
    });
    const events = await drain((await openMessageEventStream(hub, store, m.id))!);
    expect(events).toEqual([{ messageId: m.id, sequence: 0, kind: 'FAILED', textDelta: null, message: done }]);
    // A final message never changes again.
    expect(await store.updateAssistantMessage(m.id, { status: 'COMPLETE', text: 'changed' })).toBeNull();
  });

  it("another org's or another user's message: null; another org's topic never gets its events", async () => {
    const m = await pendingMessage();
    await publish(m, 1, 'STATUS');
    const otherOrg = tenant(randomUUID(), me.userId);
    for (const other of [otherOrg, tenant(me.orgId, randomUUID())]) {
      expect(await openMessageEventStream(hub, createChatStore(fx.pool, other), m.id)).toBeNull();
    }
    // Even attached straight to the hub under its own org, the other org reads and hears nothing of the message.
    const heard: MessageEvent[] = [];
    const spy = hub.listen(otherOrg.orgId, m.id, (e) => heard.push(e));
    expect(await spy.replay).toEqual([]);
    const stream = (await openMessageEventStream(hub, store, m.id))!;
    await publish(m, 2, 'TEXT_DELTA', 'secret ');
    await publish(m, 3, 'COMPLETE');
    expect((await drain(stream)).map((e) => e.sequence)).toEqual([1, 2, 3]);
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toEqual([]);
    spy.detach();
  });

  it('a message not started yet: a STATUS snapshot first; unsubscribing ends it', async () => {
    const m = await pendingMessage();
    const stream = (await openMessageEventStream(hub, store, m.id))!;
    const first = await stream.next();
    expect(first.value).toMatchObject({ sequence: 0, kind: 'STATUS', message: { id: m.id, status: 'PENDING' } });
    const waiting = stream.next();
    await stream.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(isFinalEvent({ ...first.value, kind: 'FAILED' })).toBe(true);
  });

  it('afterSequence while in progress: the stored events after it, then live ones, each once', async () => {
    const m = await pendingMessage();
    await publish(m, 1, 'STATUS');
    await publish(m, 2, 'TEXT_DELTA', 'a ');
    await publish(m, 3, 'TEXT_DELTA', 'b ');
    const reader = {
      orgId: me.orgId,
      getMessage: async (id: string) => {
        await publish(m, 4, 'TEXT_DELTA', 'c ');
        return store.getMessage(id);
      },
    };
    const stream = (await openMessageEventStream(hub, reader, m.id, 2))!;
    await publish(m, 5, 'TEXT_DELTA', 'd');
    await publish(m, 6, 'COMPLETE');
    expect((await drain(stream)).map((e) => [e.sequence, e.textDelta, e.message.text])).toEqual([
      [3, 'b ', 'a b '],
      [4, 'c ', 'a b c '],
      [5, 'd', 'a b c d'],
      [6, null, ''],
    ]);
  });

  it('afterSequence on a message not started yet: the sequence-0 snapshot, then only events after it', async () => {
    const m = await pendingMessage();
    const stream = (await openMessageEventStream(hub, store, m.id, 3))!;
    await publish(m, 1, 'STATUS');
    for (const seq of [2, 3, 4]) await publish(m, seq, 'TEXT_DELTA', `${seq} `);
    await publish(m, 5, 'COMPLETE');
    expect((await drain(stream)).map((e) => [e.sequence, e.kind])).toEqual([
      [0, 'STATUS'],
      [4, 'TEXT_DELTA'],
      [5, 'COMPLETE'],
    ]);
  });

  it('an event too large for a NOTIFY is announced by its position and read from the outbox', async () => {
    const m = await pendingMessage();
    const stream = (await openMessageEventStream(hub, store, m.id))!;
    await publish(m, 1, 'STATUS');
    // About 60 kB of result rows: far over the 8000-byte payload limit.
    const result = { columns: [{ name: 'n', type: 'bigint' }], rows: Array.from({ length: 6000 }, (_, i) => [i]) };
    await store.updateAssistantMessage(m.id, { result }, { sequence: 2, kind: 'RESULT' });
    await publish(m, 3, 'TEXT_DELTA', 'done');
    await publish(m, 4, 'COMPLETE');
    const events = await drain(stream);
    expect(events.map((e) => [e.sequence, e.kind])).toEqual([
      [0, 'STATUS'], // subscribed before the answer started
      [1, 'STATUS'],
      [2, 'RESULT'],
      [3, 'TEXT_DELTA'],
      [4, 'COMPLETE'],
    ]);
    expect(events[2]!.message.result).toEqual(result);
    expect(events[3]!.message).toMatchObject({ result, text: 'done' });
  });

  it('two hubs (two replicas) each hear every event once, in order; a hub whose connection dropped catches up', async () => {
    const second = newHub();
    const m = await pendingMessage();
    await publish(m, 1, 'STATUS');
    const streamA = (await openMessageEventStream(hub, store, m.id))!;
    const streamB = (await openMessageEventStream(second, store, m.id))!;
    await publish(m, 2, 'TEXT_DELTA', 'one ');
    await new Promise((r) => setTimeout(r, 300));
    // Every LISTEN connection of the test database is cut; the hubs reconnect and re-read past their last event.
    const { rows } = await fx.ownerPool.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND query = 'LISTEN chat_message_events'`,
    );
    expect(rows[0]!.n).toBe(2);
    for (let seq = 3; seq <= 7; seq++) await publish(m, seq, 'TEXT_DELTA', `${seq} `);
    await publish(m, 8, 'COMPLETE');
    const expected = [1, 2, 3, 4, 5, 6, 7, 8];
    const [a, b] = await Promise.all([drain(streamA), drain(streamB)]);
    expect(a.map((e) => e.sequence)).toEqual(expected);
    expect(b.map(shape)).toEqual(a.map(shape));
    expect(a.map((e) => e.textDelta ?? '').join('')).toBe('one 3 4 5 6 7 ');
  });

  it('a COMPLETE message rebuilt from PostgreSQL: the pieces of its stored text between STATUS/SQL/RESULT and COMPLETE', async () => {
    const m = await pendingMessage();
    const text = 'Adelie: 152, Gentoo: 124, Chinstrap: 68 penguins in all three species of the file.';
    const result = { columns: [{ name: 'n', type: 'bigint' }], rows: [[344]] };
    await store.updateAssistantMessage(m.id, { status: 'STREAMING', sql: 'SELECT count(*) AS n FROM penguins' });
    await store.updateAssistantMessage(m.id, { result });
    const done = (await store.updateAssistantMessage(m.id, { status: 'COMPLETE', text }))!;
    const pieces = textPieces(text);
    const events = publishedEvents(done);
    // 1 STATUS, 2 SQL, 3 RESULT, one TEXT_DELTA per piece, then COMPLETE: 3 + pieces + 1 events.
    expect(events.map((e) => [e.sequence, e.kind, e.textDelta])).toEqual([
      [1, 'STATUS', null],
      [2, 'SQL', null],
      [3, 'RESULT', null],
      ...pieces.map((p, i) => [4 + i, 'TEXT_DELTA', p]),
      [4 + pieces.length, 'COMPLETE', null],
    ]);
    expect(events.map((e) => e.textDelta ?? '').join('')).toBe(text);
    // Each snapshot is the message as of its event; the last is the stored message itself.
    expect(events.map((e) => [e.message.status, e.message.sql !== null, e.message.result !== null])).toEqual([
      ['STREAMING', false, false], // STATUS
      ['STREAMING', true, false], // SQL
      ...Array(1 + pieces.length).fill(['STREAMING', true, true]), // RESULT, the pieces
      ['COMPLETE', true, true],
    ]);
    expect(events.slice(3, -1).map((e) => e.message.text)).toEqual(
      pieces.map((_, i) => pieces.slice(0, i + 1).join('')),
    );
    expect(events.at(-1)!.message).toEqual(done);
    // Through the stream: only the events after the resume point.
    const rest = await drain((await openMessageEventStream(hub, store, m.id, 3 + 1))!);
    expect(rest.map((e) => e.sequence)).toEqual(events.slice(4).map((e) => e.sequence));
  });

  it('a FAILED message rebuilt: the stored steps, then FAILED after what the subscriber saw', async () => {
    const m = await pendingMessage();
    await store.updateAssistantMessage(m.id, { status: 'STREAMING', sql: 'SELECT 1' });
    const failed = (await store.updateAssistantMessage(m.id, {
      status: 'FAILED',
      errorCode: 'UPSTREAM_TIMEOUT',
      text: 'Sorry',
    }))!;
    // STATUS and SQL were stored, the query timed out: FAILED is the third event.
    expect(publishedEvents(failed).map((e) => [e.sequence, e.kind])).toEqual([
      [1, 'STATUS'],
      [2, 'SQL'],
      [3, 'FAILED'],
    ]);
    // A subscriber that saw more (pieces streamed before a store failure, not stored) gets FAILED right after them.
    const rest = await drain((await openMessageEventStream(hub, store, m.id, 7))!);
    expect(rest.map((e) => [e.sequence, e.kind, e.message.errorCode])).toEqual([[8, 'FAILED', 'UPSTREAM_TIMEOUT']]);
    expect(() => publishedEvents({ ...failed, status: 'STREAMING' })).toThrow(/only a final message/);
  });

  it('an outline with status lines, PLAN and CHART, then FAILED after streamed text: exact sequences, pieces skipped', async () => {
    const m = await pendingMessage();
    const plan = { table: 'penguins' } as unknown as QueryPlan;
    const failed = (await store.updateAssistantMessage(m.id, {
      status: 'FAILED',
      errorCode: 'INTERNAL',
      text: 'Sorry',
      statusText: 'Writing',
      plan: { summary: 'rows of penguins', plan },
      sql: 'SELECT 1',
      eventLog: [
        { kind: 'STATUS' },
        { kind: 'STATUS', statusText: 'Reading' },
        { kind: 'PLAN' },
        { kind: 'SQL' },
        { kind: 'STATUS', statusText: 'Writing' },
        { kind: 'TEXT_DELTA', count: 3 },
      ],
    }))!;
    const events = publishedEvents(failed);
    expect(events.map((e) => [e.sequence, e.kind, e.message.statusText, e.message.plan?.summary ?? null])).toEqual([
      [1, 'STATUS', null, null],
      [2, 'STATUS', 'Reading', null],
      [3, 'PLAN', 'Reading', 'rows of penguins'],
      [4, 'SQL', 'Reading', 'rows of penguins'],
      [5, 'STATUS', 'Writing', 'rows of penguins'],
      // 6, 7, 8: the three text pieces, not stored
      [9, 'FAILED', 'Writing', 'rows of penguins'],
    ]);
    expect(events.at(-1)!.message).toEqual(failed);
  });

  it('a final event numbered at or below what the subscriber saw is delivered once, right after it', async () => {
    const m = await pendingMessage();
    // The subscriber saw 5 events of an answer whose outbox rows are gone (swept); the FAILED of a cancel is numbered
    // after the stored ones (1).
    const stream = (await openMessageEventStream(hub, store, m.id, 5))!;
    const failed = await store.cancelAssistantMessage(m.id, { status: 'FAILED', errorCode: 'CANCELLED' }, false);
    expect(failed).toMatchObject({ status: 'FAILED' });
    expect((await drain(stream)).map((e) => [e.sequence, e.kind])).toEqual([
      [0, 'STATUS'],
      [6, 'FAILED'],
    ]);
  });
});

describe('createResponder on real PostgreSQL: what it publishes is what publishedEvents rebuilds', () => {
  let fx: ChatFixture;
  let store: ChatStore;
  const me = tenant(randomUUID(), randomUUID());
  const plan = { table: 'penguins', aggregate: 'COUNT' } as unknown as QueryPlan;
  const result = { columns: [{ name: 'n', type: 'bigint' }], rows: [[344]] };
  const chart = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', mark: 'bar' };
  // Tokens as a language model streams them: cut anywhere, spaces inside or around.
  const tokens = [
    'There',
    ' are',
    ' 344 pen',
    'guins in the pen',
    'guins table: Adelie',
    ' 152, Gentoo 124',
    ', Chinstrap 68.',
  ];

  let hub: MessageEventHub;

  beforeAll(async () => {
    fx = await startChatFixture();
    store = createChatStore(fx.pool, me);
    hub = createMessageEventHub({ pool: fx.pool, logger: createLogger('responder-test', 'error') });
  }, 120_000);
  afterAll(async () => {
    await hub?.close();
    await fx?.stop();
  });

  /** Answers one question with `analyst`; returns the events heard live (through the outbox) and the stored message. */
  async function run(analyst: Analyst['answer']) {
    const responder = createResponder({
      pool: fx.pool,
      lakes: { forTenant: () => ({ listTables: async () => [], query: async () => result }) },
      analyst: { answer: analyst },
      replicaId: 'responder-test',
      logger: createLogger('responder-test', 'error'),
      streamDelayMs: 0,
    });
    const c = await store.createConversation('responder');
    const m = (await store.addExchange(c.id, 'How many penguins?'))!.assistantMessage;
    const live: MessageEvent[] = [];
    const ended = new Promise<void>((resolve) =>
      hub.listen(me.orgId, m.id, (e) => {
        live.push(e);
        if (isFinalEvent(e)) resolve();
      }),
    );
    responder.start(me, m, 'How many penguins?', await responder.admit(me));
    await ended;
    await responder.close();
    return { live, stored: (await store.getMessage(m.id))! };
  }
  const shape = (e: MessageEvent) => [
    e.sequence,
    e.kind,
    e.textDelta,
    e.message.status,
    e.message.text,
    e.message.statusText,
    e.message.plan,
    e.message.sql,
    e.message.result,
    e.message.chart,
    e.message.errorCode,
  ];
  const streaming = async (hooks: AnalystHooks | undefined) => {
    await hooks!.onStatus!('Reading your tables');
    await hooks!.onPlan!(plan, 'the number of rows of penguins');
    await hooks!.onSql!('SELECT count(*) AS n FROM penguins', {});
    await hooks!.onResult!(result);
    await hooks!.onChart!(chart);
    await hooks!.onStatus!('Writing the answer');
  };

  it('a streamed text: every hook in order, the tokens re-cut into textPieces, rebuilt event for event', async () => {
    const { live, stored } = await run(async (_q, _scope, hooks) => {
      await streaming(hooks);
      for (const t of tokens) await hooks!.onTextDelta!(t);
      const text = tokens.join('');
      return { text, plan, planSummary: 'x', sql: 'x', params: {}, result, chart, streamed: true };
    });
    const text = tokens.join('');
    expect(stored).toMatchObject({ status: 'COMPLETE', text, statusText: 'Writing the answer', chart });
    expect(stored.plan).toEqual({ summary: 'the number of rows of penguins', plan });
    const pieces = textPieces(text);
    expect(live.map((e) => e.kind)).toEqual([
      'STATUS',
      'STATUS',
      'PLAN',
      'SQL',
      'RESULT',
      'CHART',
      'STATUS',
      ...pieces.map(() => 'TEXT_DELTA'),
      'COMPLETE',
    ]);
    expect(live.filter((e) => e.kind === 'TEXT_DELTA').map((e) => e.textDelta)).toEqual(pieces);
    expect(publishedEvents(stored).map(shape)).toEqual(live.map(shape));
    for (let n = 0; n <= live.length; n++)
      expect(
        publishedEvents(stored, n)
          .filter((e) => e.sequence > n)
          .map(shape),
      ).toEqual(live.slice(n).map(shape));
  });

  it('hooks not awaited and a text given only at the end: the same order, rebuilt identically', async () => {
    const { live, stored } = await run(async (_q, _scope, hooks) => {
      void hooks!.onStatus!('Reading your tables');
      void hooks!.onPlan!(plan, 'p');
      void hooks!.onSql!('SELECT 1', {});
      void hooks!.onTextDelta!('Part of it ');
      return {
        text: 'Part of it and the rest of the answer.',
        plan,
        planSummary: 'p',
        sql: 'SELECT 1',
        params: {},
        result,
        chart: null,
        streamed: true,
      };
    });
    // The result the analyst did not report through its hook is published before the rest of the text.
    expect(live.map((e) => e.kind).slice(0, 5)).toEqual(['STATUS', 'STATUS', 'PLAN', 'SQL', 'RESULT']);
    expect(stored.text).toBe('Part of it and the rest of the answer.');
    expect(
      live
        .filter((e) => e.kind === 'TEXT_DELTA')
        .map((e) => e.textDelta)
        .join(''),
    ).toBe(stored.text);
    expect(publishedEvents(stored).map(shape)).toEqual(live.map(shape));
  });

  it('a model that failed mid-sentence: the written text follows what was streamed, so the pieces add up', async () => {
    const { live, stored } = await run(async (_q, _scope, hooks) => {
      await hooks!.onTextDelta!('There are 344 pengu');
      return {
        text: 'The number of rows in penguins is 344.',
        plan: null,
        planSummary: null,
        sql: null,
        params: null,
        result: null,
        chart: null,
        streamed: false,
      };
    });
    expect(stored.text).toBe('There are 344 pengu\n\nThe number of rows in penguins is 344.');
    expect(
      live
        .filter((e) => e.kind === 'TEXT_DELTA')
        .map((e) => e.textDelta)
        .join(''),
    ).toBe(stored.text);
    expect(publishedEvents(stored).map(shape)).toEqual(live.map(shape));
  });

  it('a failure after text was streamed: FAILED with the next sequence, live and rebuilt alike', async () => {
    const { live, stored } = await run(async (_q, _scope, hooks) => {
      await streaming(hooks);
      for (const t of tokens.slice(0, 4)) await hooks!.onTextDelta!(t);
      throw new DataPilotError('UPSTREAM_TIMEOUT', 'too slow');
    });
    expect(stored).toMatchObject({
      status: 'FAILED',
      errorCode: 'UPSTREAM_TIMEOUT',
      sql: 'SELECT count(*) AS n FROM penguins',
    });
    const final = live.at(-1)!;
    expect(final.kind).toBe('FAILED');
    const rebuilt = publishedEvents(stored);
    expect(rebuilt.at(-1)!.sequence).toBe(final.sequence);
    // The rebuilt events are the live ones without the text pieces (not stored).
    expect(rebuilt.map(shape)).toEqual(live.filter((e) => e.kind !== 'TEXT_DELTA').map(shape));
  });
});
