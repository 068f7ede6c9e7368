/**
 * Resuming `messageEvents` with `afterSequence` (issue 7, section 2) on the real chat server: real PostgreSQL, the
 * real lake (penguins written through Spark Connect), real graphql-ws sockets. A subscriber that loses its socket in
 * the middle of an answer subscribes again with the last sequence it saw; what it received before and after the
 * reconnect must hold every sequence exactly once, and its text deltas must concatenate to the text stored in
 * PostgreSQL (read here with the owner's own SQL, not through the code under test). A finished message's events are
 * rebuilt from the stored message: they must equal, field for field, the events streamed live.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLake, type Lake } from '@datapilot/lake-core';
import type { ChatServer } from '../src/server.ts';
import { CREATE, SEND, collect, gql, startChatFixture, wsClient, type ChatFixture } from './support/chat-fixture.ts';
import { readDemoFile } from './support/demo-catalog.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';

const ORG = randomUUID();
const USER = randomUUID();
/** Pause between two streamed text pieces: long enough for a reconnect to land in the middle of the answer. */
const STREAM_DELAY_MS = 300;
/** Rows per species in penguins.json, counted here: the numbers the stored answer must state. */
const SPECIES = (() => {
  const counts = new Map<string, number>();
  for (const r of readDemoFile('penguins.json'))
    counts.set(String(r.species), (counts.get(String(r.species)) ?? 0) + 1);
  return [...counts.entries()];
})();

const RESUME = `subscription($id: ID!, $after: Int) { messageEvents(messageId: $id, afterSequence: $after) {
  messageId sequence kind textDelta message { status text sql statusText chart errorCode
    result { columns { name type } rows } plan { summary table measure filters grouping json } } } }`;

type Ev = { messageId: string; sequence: number; kind: string; textDelta: string | null; message: any };

let fx: ChatFixture;
let demo: DemoLake;
let lake: Lake;
let server: ChatServer;
let token: string;

beforeAll(async () => {
  fx = await startChatFixture();
  demo = await createDemoLake();
  await demo.write(ORG, ['penguins']);
  lake = createLake({ spark: demo.spark, store: demo.store });
  server = await fx.serve(lake, STREAM_DELAY_MS);
  token = await fx.issuer.sign({ orgId: ORG, userId: USER });
}, 300_000);

afterAll(async () => {
  await fx?.stop();
  await lake?.close();
  await demo?.cleanup();
});

/** The stored row of message `id`, read as the table owner (no code under test). */
async function storedMessage(id: string): Promise<{ status: string; text: string; sql: string | null }> {
  const { rows } = await fx.ownerPool.query('SELECT status, text, sql FROM chat.messages WHERE id = $1', [id]);
  return rows[0];
}

/** Sends a question in a new conversation; returns the assistant message id. */
async function ask(question: string): Promise<string> {
  const c = await gql(server.url, CREATE, { t: 'resume' }, token);
  const sent = await gql(server.url, SEND, { c: c.data!.createConversation.id, x: question }, token);
  expect(sent.errors).toBeUndefined();
  return sent.data!.sendMessage.assistantMessage.id;
}

/** Subscribes on a fresh socket and tears the socket down (no complete message) right after the first `kind` event. */
async function receiveThenDrop(id: string, kind: string): Promise<Ev[]> {
  // Lazy (connects on subscribe), so that the terminated socket is reported to the sink below, not logged.
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const got: Ev[] = [];
  await new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query: RESUME, variables: { id } },
      {
        next: (r) => {
          got.push((r.data as { messageEvents: Ev }).messageEvents);
          if (got.at(-1)!.kind === kind) {
            client.terminate(); // the socket is gone, as when a network drops: no `complete` is sent
            resolve();
          }
        },
        // After the drop, the sink hears of the terminated socket: expected then, a failure before.
        error: (e) => got.at(-1)?.kind !== kind && reject(e),
        complete: () => reject(new Error(`the stream ended after ${got.length} events, before a ${kind}`)),
      },
    );
  });
  return got;
}

async function resume(id: string, after: number | null): Promise<{ events: Ev[]; errors: unknown[] }> {
  const client: Client = await wsClient(server.wsUrl, token);
  try {
    const results = await collect(client, RESUME, { id, after });
    return {
      events: results.flatMap((r) => (r.data ? [r.data.messageEvents as Ev] : [])),
      errors: results.flatMap((r) => r.errors ?? []),
    };
  } finally {
    await client.dispose();
  }
}

describe('messageEvents(afterSequence) on the real chat server', () => {
  let messageId: string;
  let live: Ev[];

  it('a reconnect in the middle of the answer loses and repeats nothing', async () => {
    messageId = await ask('How many penguins are there of each species?');
    // STATUS (STREAMING), a status line, PLAN, SQL, RESULT, CHART, then the first TEXT_DELTA: the socket drops while
    // the text streams.
    const before = await receiveThenDrop(messageId, 'TEXT_DELTA');
    expect(before.map((e) => e.kind)).toEqual(['STATUS', 'STATUS', 'PLAN', 'SQL', 'RESULT', 'CHART', 'TEXT_DELTA']);
    // Each event's message holds what was known then: the status line from the second event on, the plan from
    // PLAN, the chart from CHART.
    expect(
      before.map((e) => [e.message.statusText !== null, e.message.plan !== null, e.message.chart !== null]),
    ).toEqual([
      [false, false, false],
      [true, false, false],
      [true, true, false],
      [true, true, false],
      [true, true, false],
      [true, true, true],
      [true, true, true],
    ]);
    expect(before[2]!.message.plan).toMatchObject({
      table: 'penguins',
      measure: 'Number of rows',
      grouping: 'species',
    });
    expect(before[5]!.message.chart.data.values).toHaveLength(SPECIES.length);
    // Offline for more than one piece: the pieces published meanwhile must come with the resumed stream.
    await new Promise((r) => setTimeout(r, STREAM_DELAY_MS * 2.5));
    const stillStreaming = (await storedMessage(messageId)).status === 'STREAMING';
    const after = await resume(messageId, before.at(-1)!.sequence);
    expect(after.errors).toEqual([]);

    live = [...before, ...after.events];
    const stored = await storedMessage(messageId);
    expect(stored.status).toBe('COMPLETE');
    // Every sequence 1..N exactly once, in order; the last one COMPLETE.
    expect(live.map((e) => e.sequence)).toEqual(live.map((_, i) => i + 1));
    expect(live.at(-1)!.kind).toBe('COMPLETE');
    // The deltas from both sockets concatenate to the stored text, which states the counts of the source file.
    const text = live.map((e) => e.textDelta ?? '').join('');
    expect(text).toBe(stored.text);
    for (const [species, n] of SPECIES) expect(stored.text).toContain(`${species}: ${n}`);
    // The reconnect landed while the answer streamed: the pieces published while offline (about 2 in 2.5 pauses)
    // came from the hub's kept events, the later ones live.
    expect(stillStreaming).toBe(true);
  }, 120_000);

  it('after the answer ended, every resume point gets the rest of the live events, rebuilt identically', async () => {
    const last = live.at(-1)!.sequence;
    for (let n = 0; n <= last; n++) {
      const { events, errors } = await resume(messageId, n);
      expect(errors).toEqual([]);
      // Rebuilt from PostgreSQL: the same kinds, sequences, pieces and message snapshots as streamed live.
      expect(events).toEqual(live.slice(n));
    }
  }, 120_000);

  it('without afterSequence a finished message still answers one sequence-0 event', async () => {
    const { events } = await resume(messageId, null);
    expect(events.map((e) => [e.sequence, e.kind, e.message.text])).toEqual([
      [0, 'COMPLETE', (await storedMessage(messageId)).text],
    ]);
  });

  it('a negative afterSequence is BAD_USER_INPUT naming it; beyond the end the stream just completes', async () => {
    const bad = await resume(messageId, -1);
    expect(bad.events).toEqual([]);
    expect(bad.errors).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT', field: 'afterSequence' } }]);
    expect(await resume(messageId, 2 ** 31 - 1)).toEqual({ events: [], errors: [] });
  });

  it("another organization's token resuming the message gets NOT_FOUND and no event", async () => {
    const other = await fx.issuer.sign({ orgId: randomUUID(), userId: USER });
    const client = await wsClient(server.wsUrl, other);
    try {
      const results = await collect(client, RESUME, { id: messageId, after: 0 });
      expect(results.flatMap((r) => (r.data ? [r.data] : []))).toEqual([]);
      expect(results.flatMap((r) => r.errors ?? []).map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    } finally {
      await client.dispose();
    }
  });
});
