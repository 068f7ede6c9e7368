// The one WebSocket implementation (src/ws.ts) over a real socket: a node:http server with graphql-ws, a real
// graphql-ws client, tokens signed here with a local Ed25519 key and verified by the real verifier; the principal
// check is the injection point every service has (here a set of ended sessions the test controls).
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { buildSchema, type GraphQLFieldConfig, type GraphQLObjectType } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SESSION_ENDED,
  SHARED_CONNECTION_PARAMS,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  WS_CLOSE,
  attachGraphQLWebSocket,
  createAuthenticator,
  createFormatError,
  createTokenVerifier,
  listen,
  closeServer,
  type GraphQLWebSocket,
  type PrincipalCheck,
} from '../src/index.ts';

const schema = buildSchema(`
  type Query { hello: String }
  type Item { id: Int }
  type Feed { items(first: Int = 10): [Item!]! }
  type Subscription {
    "count ticks, one every \`everyMs\`: 1, 2, ..., count"
    ticks(everyMs: Int!, count: Int!): Int!
    feed(first: Int = 10): [Feed!]!
    whoami: String!
  }
`);
type Ctx = { tenant: { userId: string } | null };
const sub = (name: string) => (schema.getType('Subscription') as GraphQLObjectType).getFields()[name]!;
Object.assign(sub('ticks'), {
  subscribe: async function* (_: unknown, { everyMs, count }: { everyMs: number; count: number }) {
    for (let i = 1; i <= count; i++) {
      await new Promise((r) => setTimeout(r, everyMs));
      yield { ticks: i };
    }
  },
} satisfies Partial<GraphQLFieldConfig<unknown, Ctx>>);
Object.assign(sub('whoami'), {
  subscribe: async function* (_: unknown, __: unknown, ctx: Ctx) {
    yield { whoami: ctx.tenant?.userId ?? 'nobody' };
  },
});

const { publicKey, privateKey } = await generateKeyPair('EdDSA');
const ended = new Set<string>();
let authDown = false;
const principal: PrincipalCheck = async (t) => {
  if (authDown) throw new Error('auth unreachable');
  return ended.has(t.sessionId) ? null : { role: t.role };
};
const RECHECK_MS = 300;

let http: Server;
let endpoint: GraphQLWebSocket;
let url: string;

beforeAll(async () => {
  http = createServer((_req, res) => res.writeHead(404).end());
  endpoint = attachGraphQLWebSocket({
    server: http,
    path: '/graphql',
    schema,
    authenticator: createAuthenticator({ verifier: createTokenVerifier({ jwks: publicKey }), principal }),
    formatError: createFormatError(() => undefined),
    context: (base) => base,
    recheckMs: RECHECK_MS,
  });
  url = (await listen(http, 0)).replace('http', 'ws') + '/graphql';
});

afterAll(async () => {
  await endpoint.close();
  await closeServer(http);
});

async function token(o: { sid?: string; userId?: string; expSec?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org: randomUUID(), role: 'ANALYST', sid: o.sid ?? randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(o.userId ?? randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(o.expSec ?? now + 600)
    .sign(privateKey);
}

/** A connected client and the close event of its socket, if it closes. */
async function connect(authorization: string) {
  let closed: { code: number; reason: string } | undefined;
  let acked!: () => void;
  const ready = new Promise<void>((r) => (acked = r));
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization },
    // The closes this file provokes are asserted through `closed`, not logged.
    onNonLazyError: () => undefined,
    on: {
      connected: () => acked(),
      closed: (e) =>
        (closed = {
          code: (e as { code: number; reason: string }).code,
          reason: (e as { code: number; reason: string }).reason,
        }),
    },
  });
  await ready;
  return { client, closed: () => closed };
}

/** Runs one operation on `client` to its end: its `next` payloads and its error (the `error` message's payload). */
function run(client: Client, query: string, variables?: Record<string, unknown>) {
  return new Promise<{ data: unknown[]; errors?: { message: string; extensions?: { code?: string } }[] }>((resolve) => {
    const data: unknown[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (v) => data.push(v.data ?? v),
        error: (e) => resolve({ data, errors: Array.isArray(e) ? e : [{ message: String(e) }] }),
        complete: () => resolve({ data }),
      },
    );
  });
}

/** Opens a raw socket with `payload` as connection_init and resolves with its close code, reason, and whether acked. */
function rawConnection(payload: unknown) {
  return new Promise<{ acked: boolean; code: number; reason: string }>((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    let acked = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (m) => (acked ||= JSON.parse(String(m)).type === 'connection_ack'));
    socket.on('close', (code, reason) => resolve({ acked, code, reason: String(reason) }));
    socket.on('error', reject);
  });
}

describe('one operation refused, the socket and its other subscriptions go on', () => {
  it('answers each bad operation with its own error and code while another subscription keeps receiving events', async () => {
    const userId = randomUUID();
    const { client, closed } = await connect(`Bearer ${await token({ userId })}`);
    const live = run(client, 'subscription { ticks(everyMs: 100, count: 12) }');
    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
    const bad = await Promise.all([
      run(client, 'subscription { ticks(everyMs: 1'), // does not parse
      run(client, 'subscription { noSuchField }'), // does not validate
      run(client, 'subscription($n: Int!) { ticks(everyMs: $n, count: 1) }', { n: 'ten' }), // ill-typed variable
      run(client, 'subscription($n: Int!) { ticks(everyMs: $n, count: 1) }', {}), // missing variable
      run(client, '{ hello }'), // a query: over HTTP
      run(client, 'subscription S { whoami } subscription T { whoami }'), // two operations, no name
      run(client, 'subscription($n: Int!) { ticks(everyMs: $n, count: 1) }', { n: deep(11) }), // input too deep
      run(client, `subscription { ${'{'.repeat(120)} }`), // brackets too deep to parse
      run(client, 'subscription { feed(first: 1000) { items(first: 1000) { id } } }'), // cost 1 001 000
    ]);
    expect(bad.map((r) => [r.data, r.errors?.map((e) => e.extensions?.code)])).toEqual([
      [[], ['GRAPHQL_PARSE_FAILED']],
      [[], ['GRAPHQL_VALIDATION_FAILED']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
      [[], ['BAD_USER_INPUT']],
    ]);
    expect(bad[4]!.errors![0]!.message).toBe(
      'Only subscriptions are served over WebSocket; send queries and mutations over HTTP.',
    );
    expect(bad[8]!.errors![0]!.message).toMatch(
      /^The operation may return 1001000 items \(its cost\); the budget is 10000\./,
    );
    // The live subscription got every tick, in order, and the socket is still open: it serves a new operation.
    expect(await live).toEqual({ data: Array.from({ length: 12 }, (_, i) => ({ ticks: i + 1 })) });
    expect(await run(client, 'subscription { whoami }')).toEqual({ data: [{ whoami: userId }] });
    expect(closed()).toBeUndefined();
    await client.dispose();
  });
});

describe('credentials', () => {
  it('closes with 4401 before acknowledging: no credential, not a bearer, a foreign key, expired, ended session', async () => {
    const sid = randomUUID();
    ended.add(sid);
    const foreign = await generateKeyPair('EdDSA');
    const now = Math.floor(Date.now() / 1000);
    const foreignToken = await new SignJWT({ org: randomUUID(), role: 'ANALYST', sid: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(randomUUID())
      .setExpirationTime(now + 600)
      .sign(foreign.privateKey);
    const outcomes = [];
    for (const payload of [
      undefined,
      {},
      { authorization: 42 },
      { authorization: 'Basic abc' },
      { authorization: `Bearer ${foreignToken}` },
      { authorization: `Bearer ${await token({ expSec: now - 60 })}` },
      { authorization: `Bearer ${await token({ sid })}` },
    ])
      outcomes.push(await rawConnection(payload));
    expect(outcomes.map((o) => [o.acked, o.code])).toEqual(Array.from({ length: 7 }, () => [false, 4401]));
    expect(outcomes[6]!.reason).toBe(SESSION_ENDED);
  });

  it(`closes a connected socket with 4401 within ${RECHECK_MS} ms once its session ends, ending its subscriptions`, async () => {
    const sid = randomUUID();
    const { client, closed } = await connect(`Bearer ${await token({ sid })}`);
    const live = run(client, 'subscription { ticks(everyMs: 50, count: 1000) }');
    await new Promise((r) => setTimeout(r, 2 * RECHECK_MS));
    expect(closed()).toBeUndefined();
    const endedAt = Date.now();
    ended.add(sid);
    const result = await live;
    const afterMs = Date.now() - endedAt;
    expect(closed()).toEqual({ code: WS_CLOSE.UNAUTHORIZED, reason: SESSION_ENDED });
    expect(afterMs).toBeLessThanOrEqual(RECHECK_MS + 200);
    expect(result.data.length).toBeGreaterThan(5);
    expect(result.data.length).toBeLessThan(1000);
    await client.dispose();
  });

  it('closes with 1013 when the session cannot be checked (the auth service is unreachable)', async () => {
    const { client, closed } = await connect(`Bearer ${await token()}`);
    authDown = true;
    try {
      await new Promise((r) => setTimeout(r, RECHECK_MS + 200));
      expect(closed()).toEqual({
        code: WS_CLOSE.UPSTREAM_UNAVAILABLE,
        reason: 'The session could not be confirmed; reconnect.',
      });
    } finally {
      authDown = false;
      await client.dispose();
    }
  });
});

describe("shared sockets (a credential per operation: the gateway's multiplexed upstream)", () => {
  /** A shared socket: acknowledged without a credential of its own. */
  async function shared() {
    let closed: { code: number } | undefined;
    let acked!: () => void;
    const ready = new Promise<void>((r) => (acked = r));
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { ...SHARED_CONNECTION_PARAMS },
      onNonLazyError: () => undefined,
      on: { connected: () => acked(), closed: (e) => (closed = { code: (e as { code: number }).code }) },
    });
    await ready;
    return { client, closed: () => closed };
  }
  /** Runs one operation with `authorization` in its extensions; its data, the errors of its results, its error. */
  function runAs(client: Client, authorization: unknown, query: string) {
    return new Promise<{ data: unknown[]; resultErrors: (string | undefined)[]; errors?: (string | undefined)[] }>(
      (resolve) => {
        const data: unknown[] = [];
        const resultErrors: (string | undefined)[] = [];
        client.subscribe(
          { query, extensions: authorization === undefined ? {} : { authorization } },
          {
            next: (v) => {
              if (v.data) data.push(v.data);
              for (const e of v.errors ?? []) resultErrors.push(e.extensions?.code as string | undefined);
            },
            error: (e) =>
              resolve({
                data,
                resultErrors,
                errors: (e as { extensions?: { code?: string } }[]).map((x) => x.extensions?.code),
              }),
            complete: () => resolve({ data, resultErrors }),
          },
        );
      },
    );
  }

  it('runs each operation as its own token, and refuses one without a valid, live credential', async () => {
    const { client, closed } = await shared();
    const [alice, bob] = [randomUUID(), randomUUID()];
    const sid = randomUUID();
    ended.add(sid);
    const now = Math.floor(Date.now() / 1000);
    const got = await Promise.all([
      runAs(client, `Bearer ${await token({ userId: alice })}`, 'subscription { whoami }'),
      runAs(client, `Bearer ${await token({ userId: bob })}`, 'subscription { whoami }'),
      runAs(client, undefined, 'subscription { whoami }'),
      runAs(client, 42, 'subscription { whoami }'),
      runAs(client, `Bearer ${await token({ expSec: now - 60 })}`, 'subscription { whoami }'),
      runAs(client, `Bearer ${await token({ sid })}`, 'subscription { whoami }'),
    ]);
    expect(got.map((g) => g.data)).toEqual([[{ whoami: alice }], [{ whoami: bob }], [], [], [], []]);
    expect(got.map((g) => g.errors)).toEqual([
      undefined,
      undefined,
      ['UNAUTHENTICATED'],
      ['UNAUTHENTICATED'],
      ['UNAUTHENTICATED'],
      ['UNAUTHENTICATED'],
    ]);
    // The refusals were per operation: the socket is still open.
    expect(closed()).toBeUndefined();
    await client.dispose();
  });

  it(`ends an operation within ${RECHECK_MS} ms once its session ends; the socket and other operations go on`, async () => {
    const { client, closed } = await shared();
    const sid = randomUUID();
    const doomed = runAs(client, `Bearer ${await token({ sid })}`, 'subscription { ticks(everyMs: 50, count: 1000) }');
    const other = runAs(client, `Bearer ${await token()}`, 'subscription { ticks(everyMs: 50, count: 30) }');
    await new Promise((r) => setTimeout(r, 2 * RECHECK_MS));
    const endedAt = Date.now();
    ended.add(sid);
    const result = await doomed;
    expect(Date.now() - endedAt).toBeLessThanOrEqual(RECHECK_MS + 200);
    // Its last result is the error, then it completes; what came before is the start of the stream.
    expect(result.resultErrors).toEqual(['UNAUTHENTICATED']);
    expect(result.data.length).toBeGreaterThan(5);
    expect(result.data).toEqual(result.data.map((_, i) => ({ ticks: i + 1 })));
    const rest = await other;
    expect(rest.data).toEqual(Array.from({ length: 30 }, (_, i) => ({ ticks: i + 1 })));
    expect(closed()).toBeUndefined();
    await client.dispose();
  });

  it('closes a shared socket that also carries a bad socket credential with 4401', async () => {
    const bad = await rawConnection({ ...SHARED_CONNECTION_PARAMS, authorization: 'Bearer nope' });
    expect([bad.acked, bad.code]).toEqual([false, 4401]);
  });
});

describe('send bounds of a shared socket (SHARED_SOCKET_SEND_BOUND_FACTOR)', () => {
  // Sockets whose bound of unsent bytes is 64 KiB: a shared socket gets 64 × that, 4 MiB. graphql-ws writes one result
  // of a (pulled) subscription at a time and waits until the socket took it, so once a stalled client's kernel
  // buffers are full (a few MiB on loopback, under 10 MiB with Linux's default maxima) each subscription holds one
  // unsent result: N subscriptions of 16 KiB results hold N × 16 KiB. Each run produces over 30 MiB in all, so the
  // kernel's buffers fill whatever their size.
  const BOUND = 64 * 1024;
  const BYTES = 16 * 1024;
  const MiB = 1024 * 1024;
  const floodSchema = buildSchema(`
    type Query { hello: String }
    type Subscription { flood(count: Int!, bytes: Int!): String! }
  `);
  Object.assign((floodSchema.getType('Subscription') as GraphQLObjectType).getFields().flood!, {
    subscribe: async function* (_: unknown, { count, bytes }: { count: number; bytes: number }) {
      for (let i = 0; i < count; i++) yield { flood: 'x'.repeat(bytes) };
    },
  });
  let floodHttp: Server;
  let floodEndpoint: GraphQLWebSocket;
  let floodUrl: string;
  beforeAll(async () => {
    floodHttp = createServer((_req, res) => res.writeHead(404).end());
    floodEndpoint = attachGraphQLWebSocket({
      server: floodHttp,
      path: '/graphql',
      schema: floodSchema,
      authenticator: createAuthenticator({ verifier: createTokenVerifier({ jwks: publicKey }), principal }),
      formatError: createFormatError(() => undefined),
      context: (base) => base,
      sendBounds: { maxBufferedBytes: BOUND },
    });
    floodUrl = (await listen(floodHttp, 0)).replace('http', 'ws') + '/graphql';
  });
  afterAll(async () => {
    await floodEndpoint.close();
    await closeServer(floodHttp);
  });

  /**
   * A raw client (a shared socket, or a tenant's) that starts `subscriptions` subscriptions of `count` results of
   * 16 KiB, stops reading at once and reads again after 1.5 s: its close code and how many subscriptions completed.
   */
  function stalledClient(sharedSocket: boolean, tok: string, subscriptions: number, count: number) {
    return new Promise<{ code: number; completed: number; received: number }>((resolve, reject) => {
      const socket = new WebSocket(floodUrl, 'graphql-transport-ws');
      let completed = 0;
      let received = 0;
      socket.on('open', () =>
        socket.send(
          JSON.stringify({
            type: 'connection_init',
            payload: sharedSocket ? { ...SHARED_CONNECTION_PARAMS } : { authorization: `Bearer ${tok}` },
          }),
        ),
      );
      socket.on('message', (raw: Buffer) => {
        received += raw.length;
        const type = raw.length < 1000 ? (JSON.parse(String(raw)) as { type: string }).type : 'next';
        if (type === 'connection_ack') {
          for (let id = 1; id <= subscriptions; id++)
            socket.send(
              JSON.stringify({
                id: String(id),
                type: 'subscribe',
                payload: {
                  query: `subscription { flood(count: ${count}, bytes: ${BYTES}) }`,
                  ...(sharedSocket ? { extensions: { authorization: `Bearer ${tok}` } } : {}),
                },
              }),
            );
          socket.pause();
          setTimeout(() => socket.resume(), 1500);
        } else if (type === 'complete' && ++completed === subscriptions) socket.close(1000);
      });
      socket.on('close', (code) => resolve({ code, completed, received }));
      socket.on('error', reject);
    });
  }

  it('closes a stalled tenant socket past 64 KiB unsent, and a stalled shared socket only past 64 times that', async () => {
    // Tenant socket: 60 × 16 KiB = 960 KiB may wait, over its 64 KiB.
    const tenant = await stalledClient(false, await token(), 60, 40);
    // Shared socket: 200 × 16 KiB = 3.1 MiB may wait, over a socket's bound, under the shared 4 MiB: all delivered.
    const within = await stalledClient(true, await token(), 200, 10);
    // Shared socket: 600 × 16 KiB = 9.4 MiB may wait, over the shared 4 MiB.
    const beyond = await stalledClient(true, await token(), 600, 4);
    console.log(
      `stalled: tenant ${tenant.code} after ${(tenant.received / MiB).toFixed(1)} MiB; shared (3.1 MiB waiting) ` +
        `${within.code} after ${(within.received / MiB).toFixed(1)} MiB; shared (9.4 MiB waiting) ${beyond.code} ` +
        `after ${(beyond.received / MiB).toFixed(1)} MiB`,
    );
    // (The first subscriptions may finish while the kernel still takes everything: "not all" is what is certain.)
    expect(tenant.code).toBe(WS_CLOSE.SLOW_CONSUMER);
    expect(tenant.completed).toBeLessThan(60);
    expect([within.code, within.completed]).toEqual([1000, 200]);
    expect(within.received).toBeGreaterThan(200 * 10 * BYTES);
    expect(beyond.code).toBe(WS_CLOSE.SLOW_CONSUMER);
    expect(beyond.completed).toBeLessThan(600);
  }, 60_000);
});
