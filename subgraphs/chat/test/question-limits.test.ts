/**
 * The per-organization question limit of the chat subgraph (CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG) on real
 * components: PostgreSQL, Delta tables written through the running Spark Connect server, the deterministic analyst.
 * An answer being computed holds one of its org's slots; `sendMessage` beyond the limit answers RATE_LIMITED with
 * `retryAfterSeconds` and stores nothing, while another org is admitted; the slot comes back when the answer
 * completes, fails (Spark unreachable) or times out (a statement past its deadline).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, createLogger, tokenRoleOnly } from '@datapilot/common';
import { createLake, createSparkConnectClient, type Lake } from '@datapilot/lake-core';
import { freePort } from '../../../infra/net.ts';
import { createChatServer, type ChatServer } from '../src/server.ts';
import { CREATE, SEND, gql, startChatFixture, waitForFinal, type ChatFixture } from './support/chat-fixture.ts';
import { SPARK_REMOTE, createDemoLake, type DemoLake } from './support/demo-lake.ts';

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const QUESTION = 'How many penguins are there of each species?';

let fx: ChatFixture;
let demo: DemoLake;
const lakes: Lake[] = [];
const servers: ChatServer[] = [];
const closers: (() => void)[] = [];
const token: Record<'A' | 'B', string> = { A: '', B: '' };

/** A chat server on the fixture's database with `limit` questions per org, answering over `lake`. */
async function serve(lake: Lake, limit: number, streamDelayMs: number) {
  const server = await createChatServer({
    pool: fx.pool,
    lake,
    authenticator: createAuthenticator({ verifier: fx.issuer.verifier, principal: tokenRoleOnly }),
    port: 0,
    logger: createLogger('chat-limits-test', 'error'),
    streamDelayMs,
    maxConcurrentQuestionsPerOrg: limit,
  });
  servers.push(server);
  return server;
}

/** A new conversation of `who`; its id. */
async function conversation(server: ChatServer, who: 'A' | 'B') {
  const r = await gql(server.url, CREATE, { t: 'limits' }, token[who]);
  expect(r.errors).toBeUndefined();
  return r.data!.createConversation.id as string;
}

/** Messages stored in conversation `id`, counted as the table owner (no policy, no code under test). */
async function storedMessages(id: string): Promise<number> {
  const { rows } = await fx.ownerPool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM chat.messages WHERE conversation_id = $1',
    [id],
  );
  return rows[0]!.n;
}

beforeAll(async () => {
  fx = await startChatFixture();
  demo = await createDemoLake();
  await demo.write(ORG_A, ['penguins']);
  await demo.write(ORG_B, ['penguins']);
  token.A = await fx.issuer.sign({ orgId: ORG_A, userId: randomUUID() });
  token.B = await fx.issuer.sign({ orgId: ORG_B, userId: randomUUID() });
}, 300_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  for (const l of lakes) await l.close();
  for (const c of closers) c();
  await fx?.stop();
  await demo?.cleanup();
});

describe('two questions per organization', () => {
  it("refuses A's third question with RATE_LIMITED, storing nothing, while B's is accepted", async () => {
    const lake = createLake({ spark: demo.spark, store: demo.store });
    lakes.push(lake);
    // 250 ms between streamed pieces: each answer takes seconds, so the first two are still being computed.
    const server = await serve(lake, 2, 250);
    const [a, b] = [await conversation(server, 'A'), await conversation(server, 'B')];

    const first = await Promise.all([1, 2].map(() => gql(server.url, SEND, { c: a, x: QUESTION }, token.A)));
    expect(first.map((r) => r.errors)).toEqual([undefined, undefined]);

    const [third, fromB] = await Promise.all([
      gql(server.url, SEND, { c: a, x: QUESTION }, token.A),
      gql(server.url, SEND, { c: b, x: QUESTION }, token.B),
    ]);
    expect(third.data?.sendMessage ?? null).toBeNull();
    expect(third.errors).toHaveLength(1);
    expect(third.errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    const retry = third.errors![0]!.extensions!.retryAfterSeconds;
    // No answer has ended yet, so the estimate is the assumed 5 s per answer minus the time they have run: 1..5.
    expect(Number.isInteger(retry)).toBe(true);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(5);
    expect(fromB.errors).toBeUndefined();
    expect(fromB.data!.sendMessage.assistantMessage.status).toMatch(/^(PENDING|STREAMING)$/);
    // Two exchanges of A stored (a question and its answer each), none for the refused one.
    expect(await storedMessages(a)).toBe(4);

    // Completed answers give their slots back: two questions at once are admitted again.
    const done = await Promise.all(
      first.map((r) => waitForFinal(server.url, r.data!.sendMessage.assistantMessage.id, token.A)),
    );
    expect(done.map((m) => m.status)).toEqual(['COMPLETE', 'COMPLETE']);
    const again = await Promise.all([1, 2].map(() => gql(server.url, SEND, { c: a, x: QUESTION }, token.A)));
    expect(again.map((r) => r.errors)).toEqual([undefined, undefined]);
    await Promise.all(again.map((r) => waitForFinal(server.url, r.data!.sendMessage.assistantMessage.id, token.A)));
    expect(await storedMessages(a)).toBe(8);
  }, 180_000);
});

describe('one question per organization: the slot comes back when the answer fails', () => {
  /** Sends a question of A; waits for its answer; returns its status and error code. */
  async function askAndWait(server: ChatServer, conversationId: string) {
    const sent = await gql(server.url, SEND, { c: conversationId, x: QUESTION }, token.A);
    expect(sent.errors).toBeUndefined();
    const m = await waitForFinal(server.url, sent.data!.sendMessage.assistantMessage.id, token.A);
    return [m.status, m.errorCode];
  }

  it('Spark unreachable: FAILED with UPSTREAM_UNAVAILABLE, and the next question is admitted', async () => {
    const down = createSparkConnectClient({ remote: `sc://127.0.0.1:${await freePort()}`, timeoutMs: 10_000 });
    closers.push(() => down.close());
    const lake = createLake({ spark: down, store: demo.store });
    lakes.push(lake);
    const server = await serve(lake, 1, 0);
    const c = await conversation(server, 'A');
    expect(await askAndWait(server, c)).toEqual(['FAILED', 'UPSTREAM_UNAVAILABLE']);
    expect(await askAndWait(server, c)).toEqual(['FAILED', 'UPSTREAM_UNAVAILABLE']);
  }, 120_000);

  it('a statement past its deadline: FAILED with UPSTREAM_TIMEOUT, and the next question is admitted', async () => {
    // The real server, with a deadline no statement meets (1 ms).
    const hasty = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 1 });
    closers.push(() => hasty.close());
    const lake = createLake({ spark: hasty, store: demo.store });
    lakes.push(lake);
    const server = await serve(lake, 1, 0);
    const c = await conversation(server, 'A');
    expect(await askAndWait(server, c)).toEqual(['FAILED', 'UPSTREAM_TIMEOUT']);
    expect(await askAndWait(server, c)).toEqual(['FAILED', 'UPSTREAM_TIMEOUT']);
  }, 120_000);
});
