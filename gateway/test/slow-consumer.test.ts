// A slow subscriber at the gateway's subscription edge (ws.ts sendBounds, issue 7 section 2): a real gateway relays a
// subscription that produces results as fast as its subgraph (served by the same WebSocket implementation as chat
// and lake) can write them, to a raw `ws` client that stops reading (`socket.pause()`). With the bounds, the gateway
// closes that client with 4008 and its memory stays flat; with the bounds lifted (the control, so that the test can
// tell), the same flood piles up in the gateway. Memory is this process's heap plus array buffers after a forced
// garbage collection: the gateway and the subgraph run here, the paused client's unread bytes are in the kernel.
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import WebSocket from 'ws';
import {
  DEFAULT_WS_SEND_BOUNDS,
  SLOW_CONSUMER_REASON,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  WS_CLOSE,
  attachGraphQLWebSocket,
  closeServer,
  createAuthenticator,
  createFormatError,
  createLogger,
  createTokenVerifier,
  listen,
  tokenRoleOnly,
  type GraphQLWebSocket,
  type WsSendBounds,
} from '@datapilot/common';
import { createGatewayServer } from '../src/server.ts';
import { supergraphFromDefs } from '../src/compose.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
/** Bytes this process holds after a full collection: V8 heap plus Buffers/ArrayBuffers (socket write queues). */
function retained(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
const MiB = 1024 * 1024;

const logger = createLogger('gateway-slow-consumer-test', 'error');
const { publicKey, privateKey } = await generateKeyPair('EdDSA');
const verifier = createTokenVerifier({ jwks: publicKey });

async function token() {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org: randomUUID(), role: 'ANALYST', sid: randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
}

const FLOOD_SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [])
  type Query { ping: Int }
  type Subscription { flood(count: Int!, bytes: Int!): Drop! }
  type Drop { n: Int! pad: String! }`;
/** How many results the subgraph has produced, and how many of its subscriptions started and are still running. */
const upstream = { produced: 0, started: 0, running: 0 };

let floodHttp: Server;
let floodWs: GraphQLWebSocket;
let floodBase: string;

beforeAll(async () => {
  const schema = buildSubgraphSchema({
    typeDefs: parse(FLOOD_SDL),
    resolvers: {
      Query: { ping: () => 1 },
      Subscription: {
        flood: {
          subscribe: async function* (_: unknown, { count, bytes }: { count: number; bytes: number }) {
            upstream.started++;
            upstream.running++;
            try {
              for (let n = 1; n <= count; n++) {
                upstream.produced++;
                yield { flood: { n, pad: 'x'.repeat(bytes) } };
              }
            } finally {
              upstream.running--;
            }
          },
        },
      },
    } as never,
  });
  floodHttp = createServer((_req, res) => res.writeHead(404).end());
  floodWs = attachGraphQLWebSocket({
    server: floodHttp,
    path: '/graphql',
    schema,
    authenticator: createAuthenticator({ verifier, principal: tokenRoleOnly }),
    formatError: createFormatError(() => undefined),
    context: (base) => base,
  });
  floodBase = await listen(floodHttp, 0);
});

afterAll(async () => {
  await floodWs?.close();
  if (floodHttp) await closeServer(floodHttp);
});

async function gatewayWith(sendBounds: Partial<WsSendBounds>) {
  return createGatewayServer({
    supergraph: supergraphFromDefs([
      {
        name: 'flood',
        url: `${floodBase}/graphql`,
        wsUrl: `${floodBase.replace('http', 'ws')}/graphql`,
        sdl: FLOOD_SDL,
      },
    ]),
    authenticator: createAuthenticator({ verifier, principal: tokenRoleOnly }),
    port: 0,
    logger,
    sendBounds,
  });
}

/**
 * A raw graphql-transport-ws client that starts `subscriptions` subscriptions to `flood` and stops reading its socket
 * after `pauseAfter` results in all. `resume()` reads again; `closed` resolves with the close code and reason, every
 * `n` received by subscription id, and how many subscriptions completed.
 */
function slowSubscriber(
  wsUrl: string,
  tok: string,
  o: { count: number; bytes: number; pauseAfter: number; subscriptions: number },
) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const received = new Map<string, number[]>();
  let seen = 0;
  let completed = 0;
  const closed = new Promise<{ code: number; reason: string; received: Map<string, number[]>; completed: number }>(
    (resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason), received, completed })),
  );
  socket.on('open', () =>
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tok}` } })),
  );
  socket.on('message', (raw) => {
    const m = JSON.parse(String(raw));
    if (m.type === 'connection_ack')
      for (let id = 1; id <= o.subscriptions; id++)
        socket.send(
          JSON.stringify({
            id: String(id),
            type: 'subscribe',
            // Named apart: the gateway shares one upstream subscription between identical ones (subscriptions.ts).
            payload: { query: `subscription S${id} { flood(count: ${o.count}, bytes: ${o.bytes}) { n pad } }` },
          }),
        );
    else if (m.type === 'next') {
      if (!m.payload.data) throw new Error(JSON.stringify(m.payload));
      received.set(m.id, [...(received.get(m.id) ?? []), m.payload.data.flood.n]);
      if (++seen === o.pauseAfter) socket.pause();
    } else if (m.type === 'complete' && ++completed === o.subscriptions) socket.close(1000);
  });
  return { closed, resume: () => socket.resume() };
}

/**
 * Floods one paused subscriber through a gateway with `sendBounds`; samples this process's retained memory every
 * 100 ms until the subgraph has stopped producing (every subscription finished, or ended by the gateway) and 500 ms
 * more; then the client reads again until its socket closes.
 * @returns the largest growth over the baseline, in bytes, what the subgraph produced and what the client saw.
 */
async function flood(sendBounds: Partial<WsSendBounds>, o: { count: number; bytes: number; subscriptions: number }) {
  const gateway = await gatewayWith(sendBounds);
  try {
    Object.assign(upstream, { produced: 0, started: 0, running: 0 });
    const baseline = retained();
    const sub = slowSubscriber(`${gateway.url.replace('http', 'ws')}/graphql`, await token(), { ...o, pauseAfter: 10 });
    let peak = 0;
    const started = Date.now();
    let quietSince = 0;
    while (Date.now() - started < 60_000) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, retained() - baseline);
      const stopped = upstream.started === o.subscriptions && upstream.running === 0;
      if (!stopped) quietSince = 0;
      else if (!quietSince) quietSince = Date.now();
      else if (Date.now() - quietSince > 500) break;
    }
    const produced = upstream.produced;
    sub.resume();
    const outcome = await sub.closed;
    return { peak, produced, ...outcome };
  } finally {
    await gateway.close();
  }
}

const inOrder = (ns: number[]) => ns.every((n, i) => n === i + 1);

describe('a subscriber that stops reading', () => {
  // 4 000 results of 16 KiB: 62.5 MiB, far beyond what loopback socket buffers absorb (a few MiB).
  const COUNT = 4000;
  const BYTES = 16 * 1024;

  it('is closed with 4008 by the bounded gateway, whose memory stays flat', async () => {
    const bounds = { maxPendingMessages: 100, maxBufferedBytes: 256 * 1024 };
    const r = await flood(bounds, { count: COUNT, bytes: BYTES, subscriptions: 1 });
    const got = r.received.get('1') ?? [];
    console.log(
      `bounded (${bounds.maxPendingMessages} results, ${bounds.maxBufferedBytes} B): peak growth ` +
        `${(r.peak / MiB).toFixed(1)} MiB; produced ${r.produced}/${COUNT}, received ${got.length}, close ${r.code}`,
    );
    expect([r.code, r.reason, r.completed]).toEqual([WS_CLOSE.SLOW_CONSUMER, SLOW_CONSUMER_REASON, 0]);
    // What the client got before the close is the start of the stream, in order, nothing skipped.
    expect(inOrder(got)).toBe(true);
    // The subgraph was told to stop well before the end of the flood.
    expect(r.produced).toBeLessThan(COUNT);
    // 100 results × 16 KiB + 256 KiB ≈ 1.9 MiB may wait in the gateway; 12 MiB leaves room for the rest of the
    // process's churn. The unbounded control below holds several times that.
    expect(r.peak).toBeLessThan(12 * MiB);
  }, 120_000);

  it('(control) piles the flood up in the gateway when the bounds are lifted, and delivers it all later', async () => {
    const r = await flood(
      { maxPendingMessages: 1_000_000, maxBufferedBytes: 2 ** 30 },
      { count: COUNT, bytes: BYTES, subscriptions: 1 },
    );
    const got = r.received.get('1') ?? [];
    console.log(
      `unbounded: peak growth ${(r.peak / MiB).toFixed(1)} MiB; produced ${r.produced}/${COUNT}, ` +
        `received ${got.length}, completed ${r.completed}`,
    );
    expect([r.code, r.completed]).toEqual([1000, 1]);
    expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    // 62.5 MiB of results, less what the kernel's socket buffers took: well over 24 MiB stayed in the gateway.
    expect(r.peak).toBeGreaterThan(24 * MiB);
  }, 120_000);

  it('is closed with 4008 when its unsent bytes pass the bound, however few results wait', async () => {
    // 20 subscriptions of 64 KiB results: once the kernel's buffers are full each has one result stuck in the socket,
    // so 64 KiB × 20 = 1.25 MiB could wait there; the bound is 256 KiB, and no result count is ever reached.
    const bounds = { maxPendingMessages: 1_000_000, maxBufferedBytes: 256 * 1024 };
    const r = await flood(bounds, { count: 400, bytes: 64 * 1024, subscriptions: 20 });
    const got = [...r.received.values()];
    console.log(
      `bounded by bytes (${bounds.maxBufferedBytes} B): peak growth ${(r.peak / MiB).toFixed(1)} MiB; produced ` +
        `${r.produced}/${400 * 20}, received ${got.flat().length}, close ${r.code}`,
    );
    expect([r.code, r.reason, r.completed]).toEqual([WS_CLOSE.SLOW_CONSUMER, SLOW_CONSUMER_REASON, 0]);
    expect(got.every(inOrder)).toBe(true);
    expect(r.produced).toBeLessThan(400 * 20);
    // The results being written (at most 20 × 64 KiB), those queued before the check, the socket's 256 KiB.
    expect(r.peak).toBeLessThan(12 * MiB);
  }, 120_000);

  it('has the documented defaults', () => {
    expect(DEFAULT_WS_SEND_BOUNDS).toEqual({ maxPendingMessages: 1000, maxBufferedBytes: 1024 * 1024 });
  });
});
