/**
 * Chat replicas that lose nothing (issue 9): two chat PROCESSES (`subgraphs/chat/src/main.ts`, as `npm start` runs
 * them) on one fresh database and one lake (the real Spark Connect over Delta tables, subgraphs/chat/test/support
 * demo-lake.ts), with the real analyst.
 * - A subscriber on replica B hears every event of an answer computed on replica A, live and in order (TEXT_DELTA
 *   included), with the content stored: the same events as a subscriber on A, and as the events rebuilt from the
 *   stored message; a late subscriber on B gets the events so far, then the rest.
 * - Replica A killed with SIGKILL in the middle of two answers: both reach a final state within 30 s (FAILED with
 *   errorCode INTERRUPTED, ended by B), and B's subscribers get the final event right after what they saw.
 * - Another organization subscribing on B to org A's message: NOT_FOUND, no event.
 * - `cancelMessage` on B of an answer computed on A: stored FAILED/CANCELLED by B; A stops; both replicas'
 *   subscribers end with the FAILED event.
 * - The only replica killed mid-answer and started again: the new process ends the answer within 30 s.
 *
 * The answers are made slow with the production setting CHAT_STREAM_DELAY_MS (the pause between two streamed text
 * pieces) on replica A: its answers take seconds to stream, so A is killed while it streams. Tokens are signed by
 * the test's issuer; a small HTTP server stands for the auth subgraph's JWKS and `/principal` endpoints.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import pg from 'pg';
import { bearerToken } from '@datapilot/common';
import { freePort } from '../../../infra/net.ts';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { spawnService, type Child } from '../../../scripts/lib/processes.ts';
import { REPO_ROOT } from '../../../scripts/stack.ts';
import { CREATE, EVENTS, MESSAGE, SEND, gql, waitForFinal, wsClient } from './support/chat-fixture.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';
import { createTestIssuer, type TestIssuer } from './support/tokens.ts';

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const ASKER = randomUUID();
const B_OWNER = randomUUID();
const QUESTION = 'How many penguins are there of each species?';
/** Replica A's pause between two text pieces (CHAT_STREAM_DELAY_MS): its answers stream for seconds. */
const SLOW_PIECES_MS = 1_000;
/** Issue 9: a message left unfinished by a dead replica is final within this many milliseconds. */
const RECOVERY_MS = 30_000;

type Event = {
  messageId: string;
  sequence: number;
  kind: string;
  textDelta: string | null;
  message: Record<string, any>;
};

let db: TestDatabase;
let logDir: string;
let jwksUrl: string;
let demo: DemoLake;
let issuer: TestIssuer;
let auth: Server;
let owner: pg.Pool;
const children: Child[] = [];
let replicaA: { child: Child; url: string; ws: string };
let replicaB: { child: Child; url: string; ws: string };
const token = { asker: '', b: '' };
const clients: Client[] = [];

/** Starts one chat process on a free port; `env` adds to (or overrides) the shared environment. */
async function startReplica(name: string, env: Record<string, string>) {
  const port = await freePort();
  const child = await spawnService({
    name,
    entry: 'subgraphs/chat/src/main.ts',
    env: {
      DATABASE_URL: await db.urlAs('datapilot_chat'),
      DATABASE_MIGRATION_URL: db.url,
      SPARK_REMOTE: process.env.SPARK_REMOTE!,
      S3_ENDPOINT: process.env.S3_ENDPOINT!,
      S3_REGION: process.env.S3_REGION ?? 'us-east-1',
      S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID!,
      S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY!,
      LAKE_BUCKET: demo.store.bucket,
      NEO4J_URI: process.env.NEO4J_URI ?? 'bolt://127.0.0.1:1',
      NEO4J_PASSWORD: process.env.NEO4J_PASSWORD ?? 'unused',
      AUTH_JWKS_URL: jwksUrl,
      CHAT_PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    port,
    logDir,
    cwd: REPO_ROOT,
  });
  children.push(child);
  return { child, url: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/graphql` };
}

/**
 * Subscribes to `messageEvents(id)` on `wsUrl`; `events` fills as they arrive (with the arrival time), `done`
 * resolves when the subscription completes, with its errors if any.
 */
async function follow(wsUrl: string, bearer: string, id: string) {
  const client = await wsClient(wsUrl, bearer);
  clients.push(client);
  const events: Event[] = [];
  const at: number[] = [];
  const errors: { extensions?: Record<string, unknown> }[] = [];
  const done = new Promise<void>((resolve) =>
    client.subscribe(
      { query: EVENTS, variables: { id } },
      {
        next: (r) => {
          if (r.errors) errors.push(...(r.errors as never[]));
          if (r.data) {
            events.push((r.data as { messageEvents: Event }).messageEvents);
            at.push(Date.now());
          }
        },
        error: (e) => {
          errors.push(...((Array.isArray(e) ? e : [e]) as never[]));
          resolve();
        },
        complete: () => resolve(),
      },
    ),
  );
  return { events, at, errors, done };
}

/** Asks QUESTION in a new conversation on replica `url`; returns the assistant message's id. */
async function ask(url: string) {
  const c = await gql(url, CREATE, { t: `replicas ${randomUUID()}` }, token.asker);
  const sent = await gql(url, SEND, { c: c.data!.createConversation.id, x: QUESTION }, token.asker);
  expect(sent.errors).toBeUndefined();
  return sent.data!.sendMessage.assistantMessage.id as string;
}

/** Waits until `ok()` (checked every 20 ms, after `poll()` when given), at most `timeoutMs`. */
const until = async (what: string, ok: () => boolean, timeoutMs = 60_000, poll?: () => Promise<void>) => {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await poll?.();
    if (ok()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** The sequences of `events` are 1, 2, 3, ... after an optional sequence-0 snapshot. */
const numbered = (events: Event[]) => events.filter((e) => e.sequence > 0).map((e) => e.sequence);
const shape = (e: Event) => [e.sequence, e.kind, e.textDelta, e.message.status, e.message.text, e.message.sql];

beforeAll(async () => {
  logDir = mkdtempSync(path.join(tmpdir(), 'datapilot-replicas-'));
  db = await startTestDatabase();
  owner = new pg.Pool({ connectionString: db.url, max: 2 });
  demo = await createDemoLake();
  await demo.write(ORG_A, ['penguins']);
  issuer = await createTestIssuer();
  // The auth subgraph's two endpoints a service uses: its JWKS, and `/principal` (every verified token is live).
  auth = createServer((req, res) => {
    void (async () => {
      if (req.url === '/.well-known/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks));
      } else if (req.url === '/principal') {
        try {
          const t = await issuer.verifier.verify(bearerToken(req.headers.authorization) ?? '');
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ active: true, role: t.role, via: 'session' }));
        } catch {
          res.writeHead(401).end();
        }
      } else res.writeHead(404).end();
    })();
  });
  const authPort = await freePort();
  await new Promise<void>((r) => auth.listen(authPort, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${authPort}/.well-known/jwks.json`;
  token.asker = await issuer.sign({ orgId: ORG_A, userId: ASKER, role: 'ANALYST' });
  token.b = await issuer.sign({ orgId: ORG_B, userId: B_OWNER, role: 'OWNER' });
  // A first (it applies the migrations), then B.
  replicaA = await startReplica('chat-a', { CHAT_STREAM_DELAY_MS: String(SLOW_PIECES_MS) });
  replicaB = await startReplica('chat-b', {});
  // The organization's first question opens its Spark session, which on a loaded machine can pass the lake's
  // statement deadline (UPSTREAM_TIMEOUT): asked once (up to 3 times) on each replica before the tests, so that the
  // tests' answers are warm ones and stream.
  for (const r of [replicaB, replicaA])
    for (let i = 0; i < 3; i++)
      if ((await waitForFinal(r.url, await ask(r.url), token.asker, 120_000)).status === 'COMPLETE') break;
}, 600_000);

afterAll(async () => {
  for (const c of clients) await c.dispose();
  for (const c of children) await c.stop();
  await new Promise((r) => auth?.close(r));
  await owner?.end();
  await db?.close();
  await demo?.cleanup();
});

describe('two chat replicas on one database', () => {
  it('a subscriber on B hears every event of an answer computed on A, in order, as stored; so does a late one', async () => {
    const id = await ask(replicaA.url);
    const onB = await follow(replicaB.ws, token.asker, id);
    const onA = await follow(replicaA.ws, token.asker, id);
    // A late subscriber on B, once text is streaming: the events so far (from the outbox), then the rest.
    await until('a text piece on B', () => onB.events.some((e) => e.kind === 'TEXT_DELTA'));
    const late = await follow(replicaB.ws, token.asker, id);
    // Another organization, on B, while the answer streams: NOT_FOUND and nothing else.
    const intruder = await follow(replicaB.ws, token.b, id);
    await Promise.all([onB.done, onA.done, late.done, intruder.done]);
    for (const s of [onA, onB, late]) expect(s.errors).toEqual([]);
    expect(intruder.events).toEqual([]);
    expect(intruder.errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);

    const stored = await waitForFinal(replicaB.url, id, token.asker);
    expect(stored).toMatchObject({ status: 'COMPLETE', errorCode: null });
    // Computed independently: the species counts of vega-datasets' penguins.json (Adelie 152, Gentoo 124,
    // Chinstrap 68) are in the stored answer.
    expect(stored.text).toMatch(/152/);
    expect(stored.text).toMatch(/124/);
    expect(stored.text).toMatch(/68/);

    const live = onB.events.filter((e) => e.sequence > 0);
    const n = live.length;
    expect(numbered(onB.events)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(live.at(-1)!.kind).toBe('COMPLETE');
    expect(live.filter((e) => e.kind === 'TEXT_DELTA').length).toBeGreaterThan(3);
    expect(live.map((e) => e.textDelta ?? '').join('')).toBe(stored.text);
    expect(live.at(-1)!.message).toEqual(stored);
    // A's subscriber and B's late one heard the same events.
    expect(onA.events.filter((e) => e.sequence > 0).map(shape)).toEqual(live.map(shape));
    expect(late.events.map(shape)).toEqual(live.map(shape));
    // The events rebuilt from the stored message (a resume from 0 once it is final) are the ones heard live.
    const rebuilt = await follow(replicaB.ws, token.asker, id);
    await rebuilt.done;
    expect(rebuilt.events.map((e) => e.kind)).toEqual(['COMPLETE']); // a finished message: one final snapshot
    const client = await wsClient(replicaB.ws, token.asker);
    clients.push(client);
    const again: Event[] = [];
    for await (const r of client.iterate({
      query: `subscription($id: ID!) { messageEvents(messageId: $id, afterSequence: 0) {
        messageId sequence kind textDelta message { status text sql } } }`,
      variables: { id },
    }))
      again.push((r.data as { messageEvents: Event }).messageEvents);
    expect(again.map(shape)).toEqual(live.map(shape));
    // Live: each event reached B's subscriber about when it reached A's (both through PostgreSQL), not at the end.
    const arrivedOnA = new Map(onA.events.map((e, i) => [e.sequence, onA.at[i]!]));
    const skew = onB.events
      .map((e, i) => (e.sequence > 0 ? Math.abs(onB.at[i]! - arrivedOnA.get(e.sequence)!) : 0))
      .sort((a, b) => a - b);
    const spanMs = onB.at.at(-1)! - onB.at.find((_, i) => onB.events[i]!.kind === 'TEXT_DELTA')!;
    console.info(
      `replicas: ${n} events; B vs A arrival skew p50 ${skew[Math.floor(skew.length / 2)]} ms, max ${skew.at(-1)} ms; ` +
        `text streamed over ${spanMs} ms`,
    );
    expect(skew[Math.floor(skew.length / 2)]!).toBeLessThan(250);
    expect(spanMs).toBeGreaterThan(SLOW_PIECES_MS * 3);
    // A's sockets close before A is killed (next test).
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  }, 120_000);

  it('cancelMessage on B of an answer computed on A: FAILED/CANCELLED at once, the subscribers on both end with it', async () => {
    const id = await ask(replicaA.url);
    const onA = await follow(replicaA.ws, token.asker, id);
    const onB = await follow(replicaB.ws, token.asker, id);
    await until('a text piece on B', () => onB.events.some((e) => e.kind === 'TEXT_DELTA'));
    const started = Date.now();
    const cancelled = await gql(
      replicaB.url,
      'mutation($id: ID!) { cancelMessage(id: $id) { status errorCode } }',
      { id },
      token.asker,
    );
    expect(cancelled.data!.cancelMessage).toEqual({ status: 'FAILED', errorCode: 'CANCELLED' });
    await Promise.all([onA.done, onB.done]);
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const s of [onA, onB]) {
      expect(s.events.at(-1)).toMatchObject({ kind: 'FAILED', message: { status: 'FAILED', errorCode: 'CANCELLED' } });
      const live = s.events.filter((e) => e.sequence > 0);
      expect(numbered(s.events)).toEqual(Array.from({ length: live.length }, (_, k) => k + 1));
    }
    // A stopped: after a few of its piece intervals, nothing follows the FAILED event in the outbox, and the message
    // stays as B stored it.
    await new Promise((r) => setTimeout(r, 3 * SLOW_PIECES_MS));
    const { rows } = await owner.query<{ kind: string }>(
      'SELECT kind FROM chat.message_events WHERE message_id = $1 ORDER BY sequence DESC LIMIT 1',
      [id],
    );
    expect(rows).toEqual([{ kind: 'FAILED' }]);
    const m = (await gql(replicaB.url, MESSAGE, { id }, token.asker)).data!.message;
    expect(m).toMatchObject({ status: 'FAILED', errorCode: 'CANCELLED' });
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  }, 120_000);

  it('replica A killed with SIGKILL mid-answer: B ends its answers FAILED/INTERRUPTED within 30 s; subscribers get it', async () => {
    const ids = [await ask(replicaA.url), await ask(replicaA.url)];
    const subs = await Promise.all(ids.map((id) => follow(replicaB.ws, token.asker, id)));
    await until('text pieces of both answers on B', () =>
      subs.every((s) => s.events.some((e) => e.kind === 'TEXT_DELTA')),
    );
    const before = await owner.query<{ id: string; status: string; answered_by: string }>(
      'SELECT id, status, answered_by FROM chat.messages WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(before.rows.map((r) => r.status)).toEqual(['STREAMING', 'STREAMING']);
    const killedAt = Date.now();
    replicaA.child.proc.kill('SIGKILL');
    await Promise.race([
      Promise.all(subs.map((s) => s.done)),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no final event within 30 s')), RECOVERY_MS)),
    ]);
    const recoveredMs = Date.now() - killedAt;
    expect(recoveredMs).toBeLessThan(RECOVERY_MS);
    for (const [i, id] of ids.entries()) {
      const s = subs[i]!;
      expect(s.errors).toEqual([]);
      const final = s.events.at(-1)!;
      expect(final.kind).toBe('FAILED');
      // Right after what the subscriber saw: no number skipped or repeated.
      const live = s.events.filter((e) => e.sequence > 0);
      expect(numbered(s.events)).toEqual(Array.from({ length: live.length }, (_, k) => k + 1));
      expect(final.message).toMatchObject({ status: 'FAILED', errorCode: 'INTERRUPTED' });
      expect(final.message.text).toMatch(/try again/);
      const m = (await gql(replicaB.url, MESSAGE, { id }, token.asker)).data!.message;
      expect(m).toMatchObject({ status: 'FAILED', errorCode: 'INTERRUPTED' });
      // Ended once: one final event in the outbox.
      const { rows } = await owner.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM chat.message_events WHERE message_id = $1 AND kind IN ('COMPLETE', 'FAILED')`,
        [id],
      );
      expect(rows[0]!.n).toBe(1);
    }
    // Every message of the database is final: nothing is left STREAMING or PENDING.
    const { rows } = await owner.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM chat.messages WHERE status NOT IN ('COMPLETE', 'FAILED')`,
    );
    expect(rows[0]!.n).toBe(0);
    console.info(`replicas: answers of the killed replica ended ${recoveredMs} ms after SIGKILL`);
  }, 120_000);

  it('the only replica killed mid-answer and started again: the new process ends the answer within 30 s', async () => {
    // B stops cleanly first (its heartbeat row goes with it): only the restarted replica is left to recover.
    await replicaB.child.stop();
    const first = await startReplica('chat-c', { CHAT_STREAM_DELAY_MS: String(SLOW_PIECES_MS) });
    const id = await ask(first.url);
    let streamingPieces = 0;
    await until(
      'the answer streaming',
      () => streamingPieces >= 1,
      60_000,
      async () => {
        const { rows } = await owner.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM chat.message_events WHERE message_id = $1 AND kind = 'TEXT_DELTA'`,
          [id],
        );
        streamingPieces = rows[0]!.n;
      },
    );
    const killedAt = Date.now();
    first.child.proc.kill('SIGKILL');
    const again = await startReplica('chat-d', {});
    const m = await waitForFinal(again.url, id, token.asker, RECOVERY_MS);
    const recoveredMs = Date.now() - killedAt;
    expect(m).toMatchObject({ status: 'FAILED', errorCode: 'INTERRUPTED' });
    expect(recoveredMs).toBeLessThan(RECOVERY_MS);
    // A late subscriber gets the final snapshot.
    const late = await follow(again.ws, token.asker, id);
    await late.done;
    expect(late.events.map((e) => [e.sequence, e.kind, e.message.errorCode])).toEqual([[0, 'FAILED', 'INTERRUPTED']]);
    console.info(`replicas: the restarted replica ended the answer ${recoveredMs} ms after SIGKILL`);
    replicaB = again;
  }, 180_000);

  it("another organization subscribing on B to org A's message: NOT_FOUND, no event", async () => {
    const { rows } = await owner.query<{ id: string }>(
      `SELECT id FROM chat.messages WHERE org_id = $1 AND role = 'ASSISTANT' LIMIT 1`,
      [ORG_A],
    );
    const s = await follow(replicaB.ws, token.b, rows[0]!.id);
    await s.done;
    expect(s.events).toEqual([]);
    expect(s.errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    const read = await gql(replicaB.url, MESSAGE, { id: rows[0]!.id }, token.b);
    expect(read.errors!.map((e) => e.extensions!.code)).toEqual(['NOT_FOUND']);
  }, 60_000);
});
