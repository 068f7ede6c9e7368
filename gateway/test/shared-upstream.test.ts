// Shared upstream subscriptions (issue 9, section 1): the gateway carries every subscriber over ONE graphql-ws socket
// to chat, each operation with its subscriber's own token, verified by chat per operation. Real services in this
// process — the auth and chat subgraphs on one fresh PostgreSQL database (each as its runtime role), chat's lake over
// the test run's Spark Connect and object store, and the gateway — with a counting TCP relay between the gateway and
// chat's WebSocket port: it counts the upstream sockets, and cuts them (an upstream lost) or refuses new ones (chat
// down) on demand. Expected values come from what the test sent, or from the owner's own SQL.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { SHARED_CONNECTION_PARAMS, WS_CLOSE, createLogger, createServiceAuthenticator } from '@datapilot/common';
import { createAuthServer, migrateAuthSchema, type AuthServer } from '@datapilot/auth';
import { createLake, type Lake } from '@datapilot/lake-core';
import { startTestDatabase, type TestDatabase } from '../../infra/postgres/testing.ts';
import { freePort } from '../../infra/net.ts';
import { loadSubgraphDefs } from '../../scripts/lib/subgraphs.ts';
import { createChatServer, migrateChatSchema, type ChatServer } from '../../subgraphs/chat/src/server.ts';
import { createDemoLake, type DemoLake } from '../../subgraphs/chat/test/support/demo-lake.ts';
import { supergraphFromDefs } from '../src/compose.ts';
import { createGatewayServer } from '../src/server.ts';

const logger = createLogger('gateway-shared-upstream-test', 'error');
const PASSWORD = 'Correct-horse-42';

type Person = { email: string; token: string; userId: string; orgId: string };
type Payload = { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };

let db: TestDatabase;
let ownerPool: pg.Pool;
let authPool: pg.Pool;
let chatPool: pg.Pool;
let auth: AuthServer;
let chat: ChatServer;
let demo: DemoLake;
let lake: Lake;
let relay: Relay;
let gateway: { url: string; close(): Promise<void> };
let http: string;
let ws: string;
const people: Record<'a' | 'b', Person> = {} as never;

/**
 * A TCP relay to `target`: `accepted` counts the connections it took, `open` those still open; `cut()` destroys every
 * open one (the upstream is lost), `down` makes it close new ones at once (the upstream cannot be reached).
 */
type Relay = { port: number; accepted: number; open: number; down: boolean; cut(): void; close(): Promise<void> };

async function startRelay(target: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    r.accepted++;
    if (r.down) return inbound.destroy();
    const outbound = net.connect(target, '127.0.0.1');
    sockets.add(inbound);
    r.open++;
    inbound.on('close', () => {
      if (sockets.delete(inbound)) r.open--;
      outbound.destroy();
    });
    outbound.on('close', () => inbound.destroy());
    inbound.on('error', () => undefined);
    outbound.on('error', () => undefined);
    inbound.pipe(outbound).pipe(inbound);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const r: Relay = {
    port,
    accepted: 0,
    open: 0,
    down: false,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return r;
}

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await fetch(http, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function signup(label: string): Promise<Person> {
  const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const r = await gql(
    `mutation($input: SignupInput!) { signup(input: $input) { accessToken user { id } organization { id } } }`,
    { input: { email, password: PASSWORD, orgName: `Org ${label}` } },
  );
  expect(r.errors).toBeUndefined();
  const s = r.data.signup;
  return { email, token: s.accessToken, userId: s.user.id, orgId: s.organization.id };
}

/** A graphql-ws client of `url` (default: the gateway), acknowledged; no retries. */
async function connect(connectionParams: Record<string, unknown>, url = ws): Promise<Client> {
  let acked!: () => void;
  let failed!: (e: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => ((acked = resolve), (failed = reject)));
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams,
    onNonLazyError: (e) => failed(e),
    on: { connected: () => acked() },
  });
  await ready;
  return client;
}

/** Runs one subscription on `client` to its end; every payload (with `at`, its arrival time), or the error. */
function collect(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  extensions?: Record<string, unknown>,
) {
  const got: (Payload & { at: number })[] = [];
  return {
    got,
    done: new Promise<{ got: typeof got; error?: unknown }>((resolve) => {
      client.subscribe(
        { query, variables, ...(extensions ? { extensions } : {}) },
        {
          next: (v) => got.push({ ...(v as Payload), at: performance.now() }),
          error: (error) => resolve({ got, error }),
          complete: () => resolve({ got }),
        },
      );
    }),
  };
}

/** The stored row of message `id`, read as the owner (no code under test). */
async function stored(id: string): Promise<{ status: string; text: string }> {
  return (await ownerPool.query('SELECT status, text FROM chat.messages WHERE id = $1', [id])).rows[0];
}

/** Asks `question` in a new conversation; returns the assistant message id. */
async function ask(p: Person, question: string): Promise<string> {
  const c = await gql(`mutation($t: String!) { createConversation(title: $t) { id } }`, { t: 'Shared' }, p.token);
  expect(c.errors).toBeUndefined();
  const sent = await gql(
    `mutation($c: ID!, $x: String!) { sendMessage(conversationId: $c, text: $x) { assistantMessage { id } } }`,
    { c: c.data.createConversation.id, x: question },
    p.token,
  );
  expect(sent.errors).toBeUndefined();
  return sent.data.sendMessage.assistantMessage.id;
}

const EVENTS = `subscription($id: ID!, $after: Int) { messageEvents(messageId: $id, afterSequence: $after) {
  sequence kind textDelta message { id status } } }`;
const QUESTION = 'How many penguins are there of each species?';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The numbered events (sequence ≥ 1) of a run, and the text their deltas make. */
const numbered = (got: Payload[]) => got.map((p) => p.data?.messageEvents).filter((e) => e && e.sequence >= 1);
const textOf = (got: Payload[]) =>
  numbered(got)
    .map((e) => e.textDelta ?? '')
    .join('');

beforeAll(async () => {
  db = await startTestDatabase();
  ownerPool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrateAuthSchema(ownerPool);
  await migrateChatSchema(ownerPool);
  authPool = new pg.Pool({ connectionString: await db.urlAs('datapilot_auth'), max: 5 });
  chatPool = new pg.Pool({ connectionString: await db.urlAs('datapilot_chat'), max: 5 });
  auth = await createAuthServer({ pool: authPool, port: 0, logger });
  demo = await createDemoLake();
  lake = createLake({ spark: demo.spark, store: demo.store });
  chat = await createChatServer({
    pool: chatPool,
    lake,
    authenticator: createServiceAuthenticator(auth.jwksUrl),
    port: 0,
    logger,
    streamDelayMs: 30,
  });
  relay = await startRelay(Number(new URL(chat.url).port));
  const dead = `http://127.0.0.1:${await freePort()}/graphql`;
  gateway = await createGatewayServer({
    supergraph: supergraphFromDefs(
      await loadSubgraphDefs({
        auth: auth.graphqlUrl,
        chat: `${chat.url}/graphql`,
        // The gateway's WebSocket path to chat goes through the relay; its HTTP fetches do not.
        chatWs: `ws://127.0.0.1:${relay.port}/graphql`,
        lake: dead,
        lakeWs: dead.replace('http', 'ws'),
        graph: dead,
      }),
    ),
    authenticator: createServiceAuthenticator(auth.jwksUrl),
    port: 0,
    logger,
  });
  http = `${gateway.url}/graphql`;
  ws = `${gateway.url.replace('http', 'ws')}/graphql`;
  people.a = await signup('a');
  people.b = await signup('b');
  await demo.write(people.a.orgId, ['penguins']);
}, 300_000);

afterAll(async () => {
  await gateway?.close();
  await relay?.close();
  await chat?.close();
  await auth?.close();
  await lake?.close();
  await demo?.cleanup();
  await chatPool?.end();
  await authPool?.end();
  await ownerPool?.end();
  await db?.close();
});

/** The message the first test follows to its end (finished for the later tests). */
let messageId: string;

describe('subscribers of the gateway share one upstream socket to chat', () => {
  it('carries 40 subscribers (two sessions of one member) over one upstream socket; each gets every event', async () => {
    const second = await gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
      e: people.a.email,
      p: PASSWORD,
    });
    const tokens = [people.a.token, second.data.login.accessToken as string];
    const clients = await Promise.all(
      Array.from({ length: 40 }, (_, i) => connect({ authorization: `Bearer ${tokens[i % 4 === 3 ? 1 : 0]}` })),
    );
    const acceptedBefore = relay.accepted;
    messageId = await ask(people.a, QUESTION);
    let peakOpen = 0;
    const sampler = setInterval(() => (peakOpen = Math.max(peakOpen, relay.open)), 10);
    const runs = await Promise.all(clients.map((c) => collect(c, EVENTS, { id: messageId }).done));
    clearInterval(sampler);
    await Promise.all(clients.map((c) => c.dispose()));

    const row = await stored(messageId);
    expect(row.status).toBe('COMPLETE');
    for (const r of runs) {
      expect(r.error).toBeUndefined();
      expect(r.got.flatMap((p) => p.errors ?? [])).toEqual([]);
      // 1..N, each once, ending with COMPLETE; the deltas make the stored text.
      const events = numbered(r.got);
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1).kind).toBe('COMPLETE');
      expect(textOf(r.got)).toBe(row.text);
    }
    // Everyone saw the same stream as the first subscriber.
    for (const r of runs) expect(r.got.map((p) => p.data)).toEqual(runs[0]!.got.map((p) => p.data));
    // One upstream socket for all of them (at most one opened since the subscribers connected).
    expect(peakOpen).toBe(1);
    expect(relay.accepted - acceptedBefore).toBeLessThanOrEqual(1);
  }, 180_000);

  it("gives another organization's subscriber on the same upstream socket NOT_FOUND and no event", async () => {
    const a = await connect({ authorization: `Bearer ${people.a.token}` });
    const b = await connect({ authorization: `Bearer ${people.b.token}` });
    const live = await ask(people.a, QUESTION);
    const runA = collect(a, EVENTS, { id: live });
    const runB = collect(b, EVENTS, { id: live });
    const [ra, rb] = await Promise.all([runA.done, runB.done]);
    // Org B: one error, NOT_FOUND, and no data at all; org A: the whole answer, on the same upstream socket.
    expect(rb.got.map((p) => p.data ?? null)).toEqual([null]);
    expect(rb.got.flatMap((p) => p.errors ?? []).map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(textOf(ra.got)).toBe((await stored(live)).text);
    expect(relay.open).toBe(1);
    // A finished message, after:0 (a replay): the same for B.
    const again = await collect(b, EVENTS, { id: messageId, after: 0 }).done;
    expect(again.got.flatMap((p) => p.errors ?? []).map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(again.got.every((p) => p.data == null)).toBe(true);
    await Promise.all([a.dispose(), b.dispose()]);
  }, 120_000);
});

describe("chat's shared sockets: a credential per operation, verified per operation", () => {
  it('refuses an operation without a token, with a bad one, or with an ended session; the socket goes on', async () => {
    // An ended session: a token from an API key, the key then revoked (never checked before, so nothing cached).
    const key = await gql(
      `mutation { createApiKey(name: "shared-socket", role: ANALYST) { apiKey { id } secret } }`,
      {},
      people.a.token,
    );
    expect(key.errors).toBeUndefined();
    const exchanged = await gql(`mutation($k: String!) { exchangeApiKey(key: $k) { accessToken } }`, {
      k: key.data.createApiKey.secret,
    });
    const revoked = await gql(
      `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`,
      { id: key.data.createApiKey.apiKey.id },
      people.a.token,
    );
    expect(revoked.errors).toBeUndefined();
    const endedToken = exchanged.data.exchangeApiKey.accessToken as string;

    const shared = await connect({ ...SHARED_CONNECTION_PARAMS }, chat.wsUrl);
    const codeOf = async (extensions?: Record<string, unknown>, token?: string) => {
      const r = await collect(
        shared,
        EVENTS,
        { id: messageId },
        extensions ?? (token ? { authorization: `Bearer ${token}` } : undefined),
      ).done;
      expect(r.got).toEqual([]);
      return (r.error as Payload['errors'])?.map((e) => e.extensions?.code);
    };
    expect(await codeOf()).toEqual(['UNAUTHENTICATED']);
    expect(await codeOf({ authorization: 'Bearer not-a-token' })).toEqual(['UNAUTHENTICATED']);
    expect(await codeOf({ authorization: 42 })).toEqual(['UNAUTHENTICATED']);
    expect(await codeOf(undefined, endedToken)).toEqual(['UNAUTHENTICATED']);
    // Same socket: org B's valid token sees nothing of A's message; A's own token gets its final event.
    const b = await collect(shared, EVENTS, { id: messageId }, { authorization: `Bearer ${people.b.token}` }).done;
    expect(b.got.flatMap((p) => p.errors ?? []).map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(b.got.every((p) => p.data == null)).toBe(true);
    const a = await collect(shared, EVENTS, { id: messageId }, { authorization: `Bearer ${people.a.token}` }).done;
    expect(a.got.map((p) => p.data.messageEvents)).toEqual([
      { sequence: 0, kind: 'COMPLETE', textDelta: null, message: { id: messageId, status: 'COMPLETE' } },
    ]);
    await shared.dispose();
  }, 60_000);

  it('still closes a direct client without a credential with 4401', async () => {
    await expect(connect({}, chat.wsUrl)).rejects.toMatchObject({ code: WS_CLOSE.UNAUTHORIZED });
    // A shared socket is only what asks for it without a credential: a bad socket credential is still 4401.
    await expect(
      connect({ ...SHARED_CONNECTION_PARAMS, authorization: 'Bearer nope' }, chat.wsUrl),
    ).rejects.toMatchObject({ code: WS_CLOSE.UNAUTHORIZED });
    // The gateway's own edge accepts no shared sockets.
    await expect(connect({ ...SHARED_CONNECTION_PARAMS })).rejects.toMatchObject({ code: WS_CLOSE.UNAUTHORIZED });
  }, 30_000);
});

describe('an upstream socket lost', () => {
  it('ends subscriptions that had events with UPSTREAM_UNAVAILABLE; resumed, nothing is lost', async () => {
    const clients = await Promise.all(
      Array.from({ length: 5 }, () => connect({ authorization: `Bearer ${people.a.token}` })),
    );
    const live = await ask(people.a, QUESTION);
    const runs = clients.map((c) => collect(c, EVENTS, { id: live }));
    // Cut once every subscriber has seen a numbered event.
    while (!runs.every((r) => numbered(r.got).length >= 1)) await sleep(5);
    const acceptedBefore = relay.accepted;
    relay.cut();
    const first = await Promise.all(runs.map((r) => r.done));
    for (const r of first) {
      expect(r.error).toBeUndefined();
      expect(r.got.at(-1)!.errors?.map((e) => e.extensions?.code)).toEqual(['UPSTREAM_UNAVAILABLE']);
    }
    // Each resumes after the last sequence it saw, through a new upstream socket: the two parts make the answer.
    const second = await Promise.all(
      clients.map((c, i) =>
        collect(c, EVENTS, { id: live, after: numbered(first[i]!.got).at(-1).sequence }).done.then((r) => r.got),
      ),
    );
    const row = await stored(live);
    expect(row.status).toBe('COMPLETE');
    for (let i = 0; i < clients.length; i++) {
      const events = [...numbered(first[i]!.got), ...numbered(second[i]!)];
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, j) => j + 1));
      expect(events.map((e) => e.textDelta ?? '').join('')).toBe(row.text);
    }
    expect(relay.accepted).toBeGreaterThan(acceptedBefore);
    await Promise.all(clients.map((c) => c.dispose()));
  }, 180_000);

  it('subscribes again (with backoff) a subscription that had nothing yet, once chat can be reached', async () => {
    relay.cut();
    relay.down = true;
    const acceptedBefore = relay.accepted;
    const client = await connect({ authorization: `Bearer ${people.a.token}` });
    const run = collect(client, EVENTS, { id: messageId, after: 0 });
    // Refused at least twice (attempt, then a retry 250 ms later), then chat is reachable again.
    while (relay.accepted - acceptedBefore < 2) await sleep(20);
    relay.down = false;
    const r = await run.done;
    expect(r.error).toBeUndefined();
    expect(r.got.flatMap((p) => p.errors ?? [])).toEqual([]);
    expect(textOf(r.got)).toBe((await stored(messageId)).text);
    expect(relay.accepted - acceptedBefore).toBeGreaterThanOrEqual(3);
    await client.dispose();
  }, 60_000);
});
