// What a client developer meets at the edge (issue 7, section 4), on the real gateway in front of the real auth
// subgraph (its own PostgreSQL database, its real signing keys): a client that keeps attaching an expired or broken
// token can still sign in and refresh, other fields tell it why it is refused (HTTP 401), both transports apply the
// same clock skew, and browsers from allowed origins get their CORS answers while Apollo's CSRF prevention stays.
// Tokens with a chosen `exp` are signed here with the auth subgraph's current key, read from its table. The other
// subgraphs are not running (no field used here is theirs). Expected messages and statuses are written out by hand.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignJWT, decodeJwt, importJWK } from 'jose';
import { DEVELOPMENT_KEY_ENCRYPTION_KEY, openPrivateJwk } from '@datapilot/auth';
import { createLogger, createServiceAuthenticator } from '@datapilot/common';
import { startAuth, SIGNUP, LOGIN, REFRESH, ME, gql, type GqlResult } from '../../subgraphs/auth/test/helpers.ts';
import { freePort } from '../../infra/net.ts';
import { exchangeWithAuth, withApiKeys } from '../src/api-keys.ts';
import { supergraphFromDefs } from '../src/compose.ts';
import { createGatewayServer } from '../src/server.ts';
import { loadSubgraphDefs } from '../../scripts/lib/subgraphs.ts';

const logger = createLogger('gateway-edge-test', 'error');
const EMAIL = `edge-${randomUUID().slice(0, 8)}@example.org`;
const PASSWORD = 'a long enough password 2026';
/** Origins this gateway allows (CORS_ORIGINS as an operator would write it, parsed by the gateway's config). */
const APP = 'https://app.example.com';

let auth: Awaited<ReturnType<typeof startAuth>>;
let gateway: { url: string; close(): Promise<void> };
let gw: string;
let ws: string;
/** The claims of a real session (signup), to re-sign with another `exp`. */
let claims: { sub: string; org: string; role: string; sid: string };
let refreshToken: string;

beforeAll(async () => {
  auth = await startAuth();
  const dead = `http://127.0.0.1:${await freePort()}/graphql`;
  gateway = await createGatewayServer({
    supergraph: supergraphFromDefs(
      await loadSubgraphDefs({
        auth: auth.server.graphqlUrl,
        chat: dead,
        chatWs: dead.replace('http', 'ws'),
        lake: dead,
        lakeWs: dead.replace('http', 'ws'),
        graph: dead,
      }),
    ),
    // As main.ts builds it: JWKS and principal check of the auth subgraph, API keys exchanged with it.
    authenticator: withApiKeys(
      createServiceAuthenticator(auth.server.jwksUrl),
      exchangeWithAuth(auth.server.graphqlUrl),
    ),
    port: 0,
    logger,
    cors: [APP, 'http://localhost:*'],
  });
  gw = `${gateway.url}/graphql`;
  ws = gw.replace('http', 'ws');
  const signup = await gql(gw, SIGNUP, { input: { email: EMAIL, password: PASSWORD, orgName: 'Edge Org' } });
  expect(signup.errors).toBeUndefined();
  const c = decodeJwt(signup.data!.signup.accessToken);
  claims = { sub: c.sub!, org: c.org as string, role: c.role as string, sid: c.sid as string };
  refreshToken = signup.data!.signup.refreshToken;
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await auth?.stop();
});

/** The session's claims signed with the auth subgraph's current key, expiring at `exp` (epoch seconds). */
async function tokenExpiringAt(exp: number): Promise<string> {
  const row = (
    await auth.pool.query<{ kid: string; private_key_sealed: Buffer }>(
      `SELECT kid, private_key_sealed FROM auth.signing_keys WHERE activates_at <= now() ORDER BY activates_at DESC LIMIT 1`,
    )
  ).rows[0]!;
  const jwk = openPrivateJwk(Buffer.from(DEVELOPMENT_KEY_ENCRYPTION_KEY, 'base64'), row.kid, row.private_key_sealed);
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'EdDSA', kid: row.kid, typ: 'JWT' })
    .setIssuer('datapilot-auth')
    .setAudience('datapilot')
    .setSubject(sub)
    .setIssuedAt(exp - 900)
    .setExpirationTime(exp)
    .sign(await importJWK(jwk, 'EdDSA'));
}

/** POSTs `query` with `authorization` as the raw header value. */
async function post(url: string, query: string, variables: Record<string, unknown>, authorization?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as Omit<GqlResult, 'status'> };
}

/** The refusal of a whole request: HTTP status, the body's keys, and each error's code, credential and message. */
const refusal = (r: Awaited<ReturnType<typeof post>>) => ({
  status: r.status,
  keys: Object.keys(r.body),
  errors: r.body.errors?.map((e) => [e.extensions?.code, e.extensions?.credential, e.message]),
});

/**
 * Opens a graphql-ws socket (subprotocol graphql-transport-ws) with `authorization` in `connection_init`; resolves
 * when it closes: whether it was acknowledged, its close code and reason, and when it closed (epoch ms).
 */
function socketLife(url: string, authorization: string) {
  return new Promise<{ acked: boolean; code: number; reason: string; closedAtMs: number }>((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    let acked = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (m) => (acked ||= JSON.parse(String(m)).type === 'connection_ack'));
    socket.on('close', (code, reason) => resolve({ acked, code, reason: String(reason), closedAtMs: Date.now() }));
    socket.on('error', reject);
  });
}

const now = () => Math.floor(Date.now() / 1000);
const EXPIRED = 'The access token has expired.';

describe('an expired or broken token does not block the public fields', () => {
  it('login and refreshToken answer through the gateway with an expired token attached; me answers 401 saying why', async () => {
    const expired = `Bearer ${await tokenExpiringAt(now() - 60)}`;
    const login = await post(gw, LOGIN, { email: EMAIL, password: PASSWORD }, expired);
    expect([login.status, login.body.errors, login.body.data?.login?.user?.email]).toEqual([200, undefined, EMAIL]);
    const refreshed = await post(gw, REFRESH, { t: refreshToken }, expired);
    expect([refreshed.status, refreshed.body.errors]).toEqual([200, undefined]);
    refreshToken = refreshed.body.data!.refreshToken.refreshToken;
    // The new access token is a real one: `me` answers with it.
    const me = await post(gw, ME, {}, `Bearer ${refreshed.body.data!.refreshToken.accessToken}`);
    expect(me.body.data?.me?.user?.email).toBe(EMAIL);

    expect(refusal(await post(gw, ME, {}, expired))).toEqual({
      status: 401,
      keys: ['errors'],
      errors: [['UNAUTHENTICATED', 'refused', EXPIRED]],
    });
  });

  it('the auth subgraph itself answers the same: public fields run, the guard says why for the others', async () => {
    const expired = `Bearer ${await tokenExpiringAt(now() - 60)}`;
    const login = await post(auth.server.graphqlUrl, LOGIN, { email: EMAIL, password: PASSWORD }, expired);
    expect([login.status, login.body.errors, login.body.data?.login?.user?.email]).toEqual([200, undefined, EMAIL]);
    expect(refusal(await post(auth.server.graphqlUrl, ME, {}, expired))).toEqual({
      status: 401,
      keys: ['errors'],
      errors: [['UNAUTHENTICATED', 'refused', EXPIRED]],
    });
  });

  it('a well-formed Bearer header with a malformed token is told the token is malformed; another scheme is told the format', async () => {
    const malformed = 'The access token is malformed: a JWT is three base64url parts separated by dots.';
    const format = 'The Authorization header must be "Bearer <token>".';
    const cases: [string, string][] = [
      ['Bearer not-a-jwt', malformed],
      ['bearer    not-a-jwt ', malformed],
      ['Basic dXNlcjpwYXNz', format],
      ['Bearer', format],
      ['Bearer two words', format],
      // JWT-shaped but not a token of this issuer.
      ['Bearer abc.def.ghi', 'The access token is invalid.'],
      // An API key the auth subgraph never issued (the gateway's exchange refuses it).
      [`Bearer dp_live_${'A'.repeat(43)}`, 'The API key is invalid, expired or revoked.'],
    ];
    for (const [authorization, message] of cases) {
      expect({ authorization, ...refusal(await post(gw, ME, {}, authorization)) }).toEqual({
        authorization,
        status: 401,
        keys: ['errors'],
        errors: [['UNAUTHENTICATED', 'refused', message]],
      });
      const login = await post(gw, LOGIN, { email: EMAIL, password: PASSWORD }, authorization);
      expect({ authorization, email: login.body.data?.login?.user?.email }).toEqual({ authorization, email: EMAIL });
    }
  });

  it('without any credential, me keeps its answer of today: UNAUTHENTICATED with HTTP 200', async () => {
    const r = await post(gw, ME, {});
    expect([r.status, r.body.data, refusal(r).errors]).toEqual([
      200,
      null,
      [['UNAUTHENTICATED', 'missing', 'A valid access token is required.']],
    ]);
  });

  it("a public field's own refusal keeps its message and status whatever token is attached", async () => {
    const expired = `Bearer ${await tokenExpiringAt(now() - 60)}`;
    const REFRESH_ONLY = 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }';
    const wrong = { email: EMAIL, password: 'not the password' };
    for (const authorization of [undefined, expired]) {
      const login = await post(gw, LOGIN, wrong, authorization);
      const refresh = await post(gw, REFRESH_ONLY, { t: 'not-a-refresh-token' }, authorization);
      expect({ authorization, login: refusal(login), refresh: refusal(refresh) }).toEqual({
        authorization,
        login: {
          status: 200,
          keys: ['errors', 'data'],
          errors: [['UNAUTHENTICATED', undefined, 'Invalid email or password.']],
        },
        refresh: {
          status: 200,
          keys: ['errors', 'data'],
          errors: [['UNAUTHENTICATED', undefined, 'The refresh token is invalid, expired or already used.']],
        },
      });
    }
  });
});

describe('one clock rule on HTTP and WebSocket (TOKEN_CLOCK_TOLERANCE_SECONDS = 5)', () => {
  it('a token expired 2 s ago works on both until exp + 5 s, when the socket closes with 4401 and HTTP refuses', async () => {
    const exp = now() - 2;
    const token = await tokenExpiringAt(exp);
    const me = await post(gw, ME, {}, `Bearer ${token}`);
    expect([me.status, me.body.data?.me?.user?.email]).toEqual([200, EMAIL]);

    const life = await socketLife(ws, `Bearer ${token}`);
    expect([life.acked, life.code, life.reason]).toEqual([true, 4401, EXPIRED]);
    // Closed from the instant a verifier refuses it, (exp + 5) × 1000 ms (timers fire late, never early).
    expect(life.closedAtMs).toBeGreaterThanOrEqual((exp + 5) * 1000);
    expect(life.closedAtMs).toBeLessThan((exp + 5) * 1000 + 1500);
    // ... and HTTP refuses it from then on.
    expect(refusal(await post(gw, ME, {}, `Bearer ${token}`))).toEqual({
      status: 401,
      keys: ['errors'],
      errors: [['UNAUTHENTICATED', 'refused', EXPIRED]],
    });
  });

  it('a token expired 10 s ago fails on both: HTTP 401, the socket closed with 4401 before its acknowledgement', async () => {
    const token = await tokenExpiringAt(now() - 10);
    expect(refusal(await post(gw, ME, {}, `Bearer ${token}`))).toEqual({
      status: 401,
      keys: ['errors'],
      errors: [['UNAUTHENTICATED', 'refused', EXPIRED]],
    });
    const life = await socketLife(ws, `Bearer ${token}`);
    expect([life.acked, life.code, life.reason]).toEqual([false, 4401, EXPIRED]);
  });
});

describe('CORS at the gateway (CORS_ORIGINS = https://app.example.com, http://localhost:*)', () => {
  const preflight = (origin: string, extra: Record<string, string> = {}) =>
    fetch(gw, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
        ...extra,
      },
    });
  const corsHeaders = (res: Response) =>
    Object.fromEntries([...res.headers].filter(([k]) => k.startsWith('access-control-') || k === 'vary'));

  it('answers a preflight from an allowed origin with 204 and the allowed methods, headers and max age', async () => {
    for (const origin of [APP, 'http://localhost:5173', 'http://localhost:3000']) {
      const res = await preflight(origin);
      expect({ origin, status: res.status, headers: corsHeaders(res), body: await res.text() }).toEqual({
        origin,
        status: 204,
        headers: {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers':
            'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, ' +
            'apollographql-client-name, apollographql-client-version, traceparent, tracestate, x-request-id',
          'access-control-max-age': '600',
          vary: 'Origin',
        },
        body: '',
      });
    }
    // Chromium's Private Network Access question is answered for an allowed origin.
    const pna = await preflight(APP, { 'access-control-request-private-network': 'true' });
    expect(pna.headers.get('access-control-allow-private-network')).toBe('true');
  });

  it('refuses a preflight from another origin with 403 and no CORS header', async () => {
    for (const origin of [
      'https://evil.example',
      'https://app.example.com.evil.example',
      'http://app.example.com',
      'https://studio.apollographql.com',
      'http://localhost.evil.example:5173',
    ]) {
      const res = await preflight(origin);
      expect({ origin, status: res.status, headers: corsHeaders(res) }).toEqual({
        origin,
        status: 403,
        headers: { vary: 'Origin' },
      });
    }
  });

  it('a POST from an allowed origin carries Access-Control-Allow-Origin and exposes x-request-id; another origin gets none', async () => {
    const ok = await fetch(gw, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json', 'x-request-id': 'edge-test-1' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect([ok.status, corsHeaders(ok), ok.headers.get('x-request-id'), await ok.json()]).toEqual([
      200,
      {
        'access-control-allow-origin': APP,
        'access-control-expose-headers': 'x-request-id',
        vary: 'Origin',
      },
      'edge-test-1',
      { data: { __typename: 'Query' } },
    ]);
    const other = await fetch(gw, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect([other.status, corsHeaders(other)]).toEqual([200, { vary: 'Origin' }]);
  });

  it('keeps Apollo CSRF prevention: a GET or a simple POST without a preflight header is refused with 400', async () => {
    const csrf = (r: Response) => r.json().then((b: any) => [r.status, b.errors?.[0]?.extensions?.code]);
    const get = await fetch(`${gw}?query=${encodeURIComponent('{ __typename }')}`, { headers: { origin: APP } });
    expect(await csrf(get)).toEqual([400, 'BAD_REQUEST']);
    const simple = await fetch(gw, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await csrf(simple)).toEqual([400, 'BAD_REQUEST']);
    // The same GET with Apollo's preflight header (which a browser preflights) is served.
    const withHeader = await fetch(`${gw}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { origin: APP, 'apollo-require-preflight': 'true' },
    });
    expect([withHeader.status, await withHeader.json()]).toEqual([200, { data: { __typename: 'Query' } }]);
  });
});
