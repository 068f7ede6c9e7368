// The bounds at the gateway (packages/common/src/bounds.ts through gateway/src/limits.ts), on the real gateway: a
// supergraph composed from the four subgraphs' SDL, the real graph subgraph on the test run's Neo4j, and the other
// subgraphs where nothing listens (their fields answer UPSTREAM_UNAVAILABLE: a refusal by the bounds is therefore
// told apart by its code and HTTP 400). Then the subscription edge over a real socket, relaying to a subgraph served
// by the same WebSocket implementation. Expected values are worked out by hand in the comments.
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import {
  SESSION_ENDED,
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
  type PrincipalCheck,
} from '@datapilot/common';
import { createGraphServer, ensureGraphSchema } from '@datapilot/graph';
import { connectNeo4j, deleteOrgs, upsertDatasets } from '../../subgraphs/graph/test/graph-fixture.ts';
import { freePort } from '../../infra/net.ts';
import { createGatewayServer } from '../src/server.ts';
import { loadSubgraphDefs } from '../../scripts/lib/subgraphs.ts';
import { supergraphFromDefs } from '../src/compose.ts';

const logger = createLogger('gateway-limits-test', 'error');
const { publicKey, privateKey } = await generateKeyPair('EdDSA');
const verifier = createTokenVerifier({ jwks: publicKey });
const ORG = randomUUID();

async function token(o: { sid?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org: ORG, role: 'ANALYST', sid: o.sid ?? randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
}

type Answer = { status: number; ms: number; codes: unknown[]; message?: string; data?: any };
async function post(url: string, query: string, variables?: Record<string, unknown>, tok?: string): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(tok ? { authorization: `Bearer ${tok}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
  return {
    status: res.status,
    ms: performance.now() - started,
    codes: (body.errors ?? []).map((e) => e.extensions?.code),
    message: body.errors?.[0]?.message,
    data: body.data,
  };
}

/** `{ AND: [ ... { name: { eq: "cars" } } ... ] }` with `levels` ANDs: 2 levels each, plus 2 for the leaf. */
const nestedAnd = (levels: number): string =>
  levels === 0 ? '{ name: { eq: "cars" } }' : `{ AND: [${nestedAnd(levels - 1)}] }`;

describe('input bounds at the gateway, before it plans', () => {
  let neo: Awaited<ReturnType<typeof connectNeo4j>>;
  let graph: { url: string; close(): Promise<void> };
  let gateway: { url: string; close(): Promise<void> };
  let gw: string;

  beforeAll(async () => {
    neo = await connectNeo4j();
    await ensureGraphSchema(neo.driver);
    await upsertDatasets(neo.driver, ORG, [
      { name: 'cars', rowCount: 406, deltaVersion: 0, columns: [{ name: 'name', type: 'string', nullable: true }] },
      { name: 'stocks', rowCount: 560, deltaVersion: 1, columns: [{ name: 'price', type: 'double', nullable: true }] },
    ]);
    graph = await createGraphServer({
      driver: neo.driver,
      authenticator: createAuthenticator({ verifier, principal: tokenRoleOnly }),
      port: 0,
      logger,
    });
    const dead = `http://127.0.0.1:${await freePort()}/graphql`;
    const deadWs = dead.replace('http', 'ws');
    gateway = await createGatewayServer({
      supergraph: supergraphFromDefs(
        await loadSubgraphDefs({
          auth: dead,
          chat: dead,
          chatWs: deadWs,
          lake: dead,
          lakeWs: deadWs,
          graph: `${graph.url}/graphql`,
        }),
      ),
      authenticator: createAuthenticator({ verifier, principal: tokenRoleOnly }),
      port: 0,
      logger,
    });
    gw = `${gateway.url}/graphql`;
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await graph?.close();
    if (neo) await deleteOrgs(neo.driver, [ORG]);
    await neo?.close();
  });

  it('refuses the reported attack (AND nested 18, 22 and 30 levels inline, no token) at once with BAD_USER_INPUT', async () => {
    // Unbounded, the gateway's planner doubled its time with each level: 18 levels 0.2-0.4 s, 22 levels 2.9-4.8 s,
    // 30 levels about 12-20 minutes. The literal is 2 × levels + 2 deep.
    for (const levels of [18, 22, 30]) {
      const r = await post(gw, `{ datasets(where: ${nestedAnd(levels)}) { name } }`);
      expect({ levels, status: r.status, codes: r.codes, message: r.message }).toEqual({
        levels,
        status: 400,
        codes: ['BAD_USER_INPUT'],
        message: `An input value (argument "where" of field "datasets") is nested ${2 * levels + 2} levels deep; at most 10 are allowed.`,
      });
      expect(r.ms).toBeLessThan(1000);
    }
  });

  it('lets a filter within the bounds through to the graph subgraph, which answers it', async () => {
    // 4 ANDs: depth 10, the bound. OR of eq and in: depth 1 + 2 + 3 (name: { in: [..] }) = 6.
    const tok = await token();
    const deepest = await post(gw, `{ datasets(where: ${nestedAnd(4)}) { name } }`, undefined, tok);
    expect([deepest.status, deepest.data]).toEqual([200, { datasets: [{ name: 'cars' }] }]);
    const or = await post(
      gw,
      `{ datasets(where: { OR: [{ name: { eq: "cars" } }, { name: { in: ["stocks", "x"] } }] }, sort: [{ name: ASC }]) { name rowCount } }`,
      undefined,
      tok,
    );
    expect(or.data).toEqual({
      datasets: [
        { name: 'cars', rowCount: 406 },
        { name: 'stocks', rowCount: 560 },
      ],
    });
  });

  it('refuses every shape of oversized input: nested objects, wide objects, long lists, variables, fragments', async () => {
    const tok = await token();
    const not = (n: number): string => (n === 0 ? '{ name: { eq: "x" } }' : `{ NOT: ${not(n - 1)} }`);
    const notJson = (n: number): unknown => (n === 0 ? { name: { eq: 'x' } } : { NOT: notJson(n - 1) });
    // 1 700 objects of 3 values ({ name: { eq: "..." } }) inside AND: 1 + 1 + 1 700 × 3 = 5 102 values.
    const wide = (n: number) =>
      `{ AND: [${Array.from({ length: n }, (_, i) => `{ name: { eq: "n${i}" } }`).join(', ')}] }`;
    const longList = (n: number) => `{ name: { in: [${Array.from({ length: n }, (_, i) => `"n${i}"`).join(', ')}] } }`;
    const cases: [string, string, Record<string, unknown> | undefined, string][] = [
      // NOT × 9 + leaf 2 = 11 levels of objects only.
      ['nested objects', `{ datasets(where: ${not(9)}) { name } }`, undefined, 'is nested 11 levels deep'],
      ['wide object list', `{ datasets(where: ${wide(1700)}) { name } }`, undefined, 'hold 5102 input values'],
      // The in-list: 1 (where) + 1 (name) + 1 (list) + n strings.
      ['long list', `{ datasets(where: ${longList(4998)}) { name } }`, undefined, 'hold 5001 input values'],
      [
        'deep through a variable',
        'query($w: DatasetWhere) { datasets(where: $w) { name } }',
        { w: notJson(9) },
        '(variable "$w") is nested 11 levels deep',
      ],
      [
        'deep through a fragment',
        `{ ...D } fragment D on Query { datasets(where: ${nestedAnd(5)}) { name } }`,
        undefined,
        '(argument "where" of field "datasets") is nested 12 levels deep',
      ],
      [
        'deep as a variable default',
        `query($w: DatasetWhere = ${nestedAnd(5)}) { datasets(where: $w) { name } }`,
        undefined,
        '(the default value of "$w") is nested 12 levels deep',
      ],
    ];
    for (const [label, query, variables, says] of cases) {
      const r = await post(gw, query, variables, tok);
      expect({ label, status: r.status, codes: r.codes }).toEqual({ label, status: 400, codes: ['BAD_USER_INPUT'] });
      expect(r.message, label).toContain(says);
    }
    // Just within: a list of 4 997 names reaches the graph subgraph and matches nothing. (A filter of 1 251 AND
    // branches is within the bounds too, but Neo4j takes minutes to plan such a Cypher query the first time.)
    expect((await post(gw, `{ datasets(where: ${longList(4997)}) { name } }`, undefined, tok)).data).toEqual({
      datasets: [],
    });
  });

  it('weighs row-returning fields: 100 aliases of a 1 000-row page are refused before the lake is called', async () => {
    const page = (alias: string) => `${alias}: lakeTable(name: "orders") { rows(first: 1000) { edges { node } } }`;
    const many = await post(gw, `{ ${Array.from({ length: 100 }, (_, i) => page(`t${i}`)).join(' ')} }`);
    expect([many.status, many.codes]).toEqual([400, ['BAD_USER_INPUT']]);
    expect(many.message).toBe(
      'The operation may return 100000 items (its cost); the budget is 10000. ' +
        'Ask for smaller pages (first, limit) or fewer lists in one operation.',
    );
    // One such page (cost 1 000) passes the bounds: the dead lake subgraph answers for it.
    const one = await post(gw, `{ ${page('t')} }`, undefined, await token());
    expect(one.codes).toEqual(['UPSTREAM_UNAVAILABLE']);
  });
});

describe('the subscription edge over a real socket', () => {
  // A subgraph with a subscription, served by the same WebSocket implementation as chat and lake.
  const TICKS_SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [])
    type Query { ping: Int }
    type Subscription { ticks(everyMs: Int!, count: Int!): Int! }`;
  let upstreamHttp: Server;
  let upstream: GraphQLWebSocket;
  let gateway: { url: string; close(): Promise<void> };
  let ws: string;
  const ended = new Set<string>();
  const principal: PrincipalCheck = async (t) => (ended.has(t.sessionId) ? null : { role: t.role });

  beforeAll(async () => {
    const schema = buildSubgraphSchema({
      typeDefs: parse(TICKS_SDL),
      resolvers: {
        Query: { ping: () => 1 },
        Subscription: {
          ticks: {
            subscribe: async function* (_: unknown, { everyMs, count }: { everyMs: number; count: number }) {
              for (let i = 1; i <= count; i++) {
                await new Promise((r) => setTimeout(r, everyMs));
                yield { ticks: i };
              }
            },
          },
        },
      } as never,
    });
    upstreamHttp = createServer((_req, res) => res.writeHead(404).end());
    upstream = attachGraphQLWebSocket({
      server: upstreamHttp,
      path: '/graphql',
      schema,
      // The subgraph trusts every verified token: the gateway's own session check is what this file tests.
      authenticator: createAuthenticator({ verifier, principal: tokenRoleOnly }),
      formatError: createFormatError(() => undefined),
      context: (base) => base,
    });
    const base = await listen(upstreamHttp, 0);
    gateway = await createGatewayServer({
      supergraph: supergraphFromDefs([
        { name: 'ticks', url: `${base}/graphql`, wsUrl: `${base.replace('http', 'ws')}/graphql`, sdl: TICKS_SDL },
      ]),
      authenticator: createAuthenticator({ verifier, principal }),
      port: 0,
      logger,
    });
    ws = `${gateway.url.replace('http', 'ws')}/graphql`;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
    if (upstreamHttp) await closeServer(upstreamHttp);
  });

  async function connect(tok: string) {
    let closed: { code: number; reason: string } | undefined;
    let acked!: () => void;
    const ready = new Promise<void>((r) => (acked = r));
    const client = createClient({
      url: ws,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${tok}` },
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
  const run = (client: Client, query: string, variables?: Record<string, unknown>) =>
    new Promise<{ data: unknown[]; codes?: unknown[] }>((resolve) => {
      const data: unknown[] = [];
      client.subscribe(
        { query, variables },
        {
          next: (v) => data.push(v.data),
          error: (e) => resolve({ data, codes: Array.isArray(e) ? e.map((x) => x.extensions?.code) : [String(e)] }),
          complete: () => resolve({ data }),
        },
      );
    });

  it('refuses bad operations one by one with their codes while a relayed subscription keeps receiving events', async () => {
    const { client, closed } = await connect(await token());
    const live = run(client, 'subscription { ticks(everyMs: 100, count: 10) }');
    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
    const bad = await Promise.all([
      run(client, 'subscription { ticks(everyMs: 1'),
      run(client, 'subscription { nope }'),
      run(client, 'subscription($n: Int!) { ticks(everyMs: $n, count: 1) }', { n: 'ten' }),
      run(client, 'subscription($n: Int!) { ticks(everyMs: $n, count: 1) }', { n: deep(11) }),
      run(client, '{ ping }'),
    ]);
    expect(bad).toEqual([
      { data: [], codes: ['GRAPHQL_PARSE_FAILED'] },
      { data: [], codes: ['GRAPHQL_VALIDATION_FAILED'] },
      { data: [], codes: ['BAD_USER_INPUT'] },
      { data: [], codes: ['BAD_USER_INPUT'] },
      { data: [], codes: ['BAD_USER_INPUT'] },
    ]);
    expect(await live).toEqual({ data: Array.from({ length: 10 }, (_, i) => ({ ticks: i + 1 })) });
    expect(closed()).toBeUndefined();
    await client.dispose();
  });

  it('closes with 4401 within 10 s (+1 s) once the session ends, ending the relayed subscription', async () => {
    const sid = randomUUID();
    const { client, closed } = await connect(await token({ sid }));
    const live = run(client, 'subscription { ticks(everyMs: 100, count: 1000) }');
    await new Promise((r) => setTimeout(r, 300));
    const endedAt = Date.now();
    ended.add(sid);
    const result = await live;
    expect(closed()).toEqual({ code: WS_CLOSE.UNAUTHORIZED, reason: SESSION_ENDED });
    expect(Date.now() - endedAt).toBeLessThan(11_000);
    expect(result.data.length).toBeGreaterThan(2);
    await client.dispose();
  }, 30_000);
});
