/**
 * The chat subgraph's own WebSocket (the implementation every DataPilot socket shares, packages/common/src/ws.ts),
 * over a real socket, while the analyst streams a real answer from Spark: an operation that does not parse, one
 * that does not validate, a bad variable, a query and an oversized input each get an error with their code on that
 * one operation; the socket stays open and the streaming subscription receives every event to COMPLETE. Before
 * issue 6 the first of them closed the whole socket (4500) and the others answered INTERNAL.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLake } from '@datapilot/lake-core';
import type { ChatServer } from '../src/server.ts';
import { CREATE, EVENTS, SEND, gql, startChatFixture, type ChatFixture } from './support/chat-fixture.ts';
import { readDemoFile } from './support/demo-catalog.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';

const ORG = randomUUID();
const USER = randomUUID();
/** Rows per species in penguins.json, counted here, in the analyst's order (count descending, then name). */
const SPECIES = (() => {
  const counts = new Map<string, number>();
  for (const r of readDemoFile('penguins.json'))
    counts.set(String(r.species), (counts.get(String(r.species)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
})();

let fx: ChatFixture;
let demo: DemoLake;
let server: ChatServer;

beforeAll(async () => {
  fx = await startChatFixture();
  demo = await createDemoLake();
  await demo.write(ORG, ['penguins']);
  // 150 ms between streamed pieces: the answer streams for about a second, while the bad operations are sent.
  server = await fx.serve(createLake({ spark: demo.spark, store: demo.store }), 150);
}, 300_000);

afterAll(async () => {
  await fx?.stop();
  await demo?.cleanup();
});

type Outcome = { events: any[]; codes?: unknown[]; at: number };

/** Runs one operation on `client` to its end; `at` is when it ended. `onEvent` sees each event as it comes. */
function run(client: Client, query: string, variables: Record<string, unknown>, onEvent?: () => void) {
  return new Promise<Outcome>((resolve) => {
    const events: any[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (v) => {
          events.push(v.data);
          onEvent?.();
        },
        error: (e) =>
          resolve({
            events,
            codes: Array.isArray(e)
              ? e.map((x) => x.extensions?.code)
              : [`closed ${(e as { code: number; reason: string }).code}`],
            at: Date.now(),
          }),
        complete: () => resolve({ events, at: Date.now() }),
      },
    );
  });
}

describe('bad operations on a socket with a live subscription', () => {
  it('each gets its own error and code; the socket stays open and the answer streams to COMPLETE', async () => {
    const token = await fx.issuer.sign({ orgId: ORG, userId: USER });
    let closedWith: number | undefined;
    let connected!: () => void;
    const ready = new Promise<void>((r) => (connected = r));
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      on: { connected: () => connected(), closed: (e) => (closedWith = (e as { code: number; reason: string }).code) },
    });
    await ready;
    const conv = await gql(server.url, CREATE, { t: 'ws errors' }, token);
    const sent = await gql(
      server.url,
      SEND,
      { c: conv.data!.createConversation.id, x: 'How many penguins are there of each species?' },
      token,
    );
    const messageId = sent.data!.sendMessage.assistantMessage.id;

    let firstEvent!: () => void;
    const started = new Promise<void>((r) => (firstEvent = r));
    const live = run(client, EVENTS, { id: messageId }, () => firstEvent());
    await started;
    const deep = (n: number): unknown => (n === 0 ? messageId : [deep(n - 1)]);
    const bad = await Promise.all([
      run(client, 'subscription { messageEvents(messageId: "x") { kind', {}),
      run(client, 'subscription { messageEvents(messageId: "x") { noSuchField } }', {}),
      run(client, 'subscription($id: ID!) { messageEvents(messageId: $id) { kind } }', { id: { not: 'an id' } }),
      run(client, 'subscription($id: ID!) { messageEvents(messageId: $id) { kind } }', {}),
      run(client, 'query($id: ID!) { message(id: $id) { id } }', { id: messageId }),
      run(client, 'subscription($id: ID!) { messageEvents(messageId: $id) { kind } }', { id: deep(11) }),
    ]);
    expect(bad.map((b) => [b.events, b.codes])).toEqual([
      [[], ['GRAPHQL_PARSE_FAILED']],
      [[], ['GRAPHQL_VALIDATION_FAILED']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
    ]);

    const answer = await live;
    // The refusals came while the answer was still streaming.
    expect(Math.max(...bad.map((b) => b.at))).toBeLessThan(answer.at);
    expect(answer.codes).toBeUndefined();
    const events = answer.events.map((d) => d.messageEvents);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1).kind).toBe('COMPLETE');
    expect(events.at(-1).message.text).toBe(
      `The number of rows per species in penguins: ${SPECIES.map(([s, n]) => `${s}: ${n}`).join(', ')}.`,
    );
    expect(closedWith).toBeUndefined();
    await client.dispose();
  }, 180_000);
});
