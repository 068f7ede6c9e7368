// @datapilot/sdk against the real gateway in front of the real auth subgraph (its own PostgreSQL database, its real
// signing keys; the other subgraphs are not running, so their fields answer UPSTREAM_UNAVAILABLE): one refresh at a
// time whatever the number of concurrent calls, a retry after a 401 and a resubscription after a 4401 close with a
// renewed token, and every kind of failure mapped to one ErrorCode. Requests are counted at the fetch the client is
// given; expected codes and statuses are written out by hand from the README's tables.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parse } from 'graphql';
import { SignJWT, decodeJwt, importJWK } from 'jose';
import { DEVELOPMENT_KEY_ENCRYPTION_KEY, openPrivateJwk } from '@datapilot/auth';
import { createLogger, createServiceAuthenticator } from '@datapilot/common';
import { startAuth, SIGNUP, gql } from '../../subgraphs/auth/test/helpers.ts';
import { freePort } from '../../infra/net.ts';
import { exchangeWithAuth, withApiKeys } from '../../gateway/src/api-keys.ts';
import { supergraphFromDefs } from '../../gateway/src/compose.ts';
import { createGatewayServer } from '../../gateway/src/server.ts';
import { loadSubgraphDefs } from '../../scripts/lib/subgraphs.ts';
import {
  codeOfClose,
  codeOfHttpStatus,
  createDataPilotClient,
  DataPilotClientError,
  MessageEventsDocument,
  type DataPilotClientOptions,
} from '../src/index.ts';

const EMAIL = `sdk-${randomUUID().slice(0, 8)}@example.org`;
const PASSWORD = 'a long enough password 2026';

let auth: Awaited<ReturnType<typeof startAuth>>;
let gateway: { url: string; close(): Promise<void> };
let gw: string;
let claims: { sub: string; org: string; role: string; sid: string };

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
    authenticator: withApiKeys(
      createServiceAuthenticator(auth.server.jwksUrl),
      exchangeWithAuth(auth.server.graphqlUrl),
    ),
    port: 0,
    logger: createLogger('sdk-test', 'error'),
  });
  gw = `${gateway.url}/graphql`;
  const signup = await gql(gw, SIGNUP, { input: { email: EMAIL, password: PASSWORD, orgName: 'SDK Org' } });
  expect(signup.errors).toBeUndefined();
  const c = decodeJwt(signup.data!.signup.accessToken);
  claims = { sub: c.sub!, org: c.org as string, role: c.role as string, sid: c.sid as string };
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

/** A fetch that records the operation of every GraphQL POST (its `query` text or `documentId`) and its status. */
function countingFetch() {
  const calls: { op: string; status: number; authorization?: string }[] = [];
  const f: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { operationName?: string }) : {};
    const headers = new Headers(init?.headers);
    calls.push({
      op: body.operationName ?? '?',
      status: res.status,
      authorization: headers.get('authorization') ?? undefined,
    });
    return res;
  };
  return { fetch: f, calls, count: (op: string) => calls.filter((c) => c.op === op).length };
}

/** A fresh session of the test user (its own refresh-token family member: every login starts a new session). */
async function freshLogin() {
  const r = await gql(
    gw,
    `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }`,
    { e: EMAIL, p: PASSWORD },
  );
  expect(r.errors).toBeUndefined();
  return r.data!.login as { accessToken: string; refreshToken: string };
}

const client = (o: Partial<DataPilotClientOptions>) =>
  createDataPilotClient({ url: gw, webSocketImpl: WebSocket, resubscribeDelayMs: 50, ...o });

describe('refreshing the access token', () => {
  it('refreshes once for 8 concurrent calls when the token is about to expire, and the new pair works', async () => {
    const s = await freshLogin();
    const f = countingFetch();
    // A token 30 s from its expiry, within the default margin of 60 s: every call finds it about to expire.
    const soon = await tokenExpiringAt(Math.floor(Date.now() / 1000) + 30);
    const c = client({ token: soon, refreshToken: s.refreshToken, fetch: f.fetch });
    const changes: string[] = [];
    c.onSessionChange((_s, why) => changes.push(why));
    const answers = await Promise.all(Array.from({ length: 8 }, () => c.me()));
    expect(answers.map((a) => a.user.email)).toEqual(Array(8).fill(EMAIL));
    expect(f.count('RefreshToken')).toBe(1);
    expect(f.count('Me')).toBe(8);
    expect(changes).toEqual(['refresh']);
    expect(c.session!.refreshToken).not.toBe(s.refreshToken);
    // Had a second refresh presented the used token, auth would have ended the session (README, "Tokens"): the
    // renewed token still works, and the old refresh token is refused.
    expect((await createDataPilotClient({ url: gw, token: c.session!.accessToken }).me()).user.email).toBe(EMAIL);
    const reuse = await gql(gw, `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, {
      t: s.refreshToken,
    });
    expect(reuse.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('after an HTTP 401 (an expired token), refreshes once and retries the call', async () => {
    const s = await freshLogin();
    const expired = await tokenExpiringAt(Math.floor(Date.now() / 1000) - 60);
    const f = countingFetch();
    // No margin: the client sends the expired token (as one that does not read `exp` would) and meets the 401.
    const c = client({ token: expired, refreshToken: s.refreshToken, fetch: f.fetch, refreshMarginMs: -3_600_000 });
    expect((await c.me()).user.email).toBe(EMAIL);
    expect(f.calls.map((x) => [x.op, x.status])).toEqual([
      ['Me', 401],
      ['RefreshToken', 200],
      ['Me', 200],
    ]);
    expect(f.calls[1]!.authorization).toBeUndefined();
    expect(f.calls[2]!.authorization).toBe(`Bearer ${c.session!.accessToken}`);
  });

  it('signs in with credentials at the first call, and again when the refresh token is refused', async () => {
    const f = countingFetch();
    const c = client({ credentials: { email: EMAIL, password: PASSWORD }, fetch: f.fetch });
    const reasons: string[] = [];
    c.onSessionChange((_s, why) => reasons.push(why));
    expect((await c.me()).organization.name).toBe('SDK Org');
    expect(f.calls.map((x) => x.op)).toEqual(['Login', 'Me']);
    // The session ends on the server (signOut): its refresh token is refused, so the client signs in again.
    const before = c.session!.accessToken;
    await gql(gw, `mutation { signOut }`, {}, before);
    await c.refresh();
    expect(f.calls.map((x) => x.op).slice(2)).toEqual(['RefreshToken', 'Login']);
    expect(reasons).toEqual(['signIn', 'signIn']);
    expect((await c.me()).user.email).toBe(EMAIL);
  });

  it('resubscribes with a renewed token after a 4401 close', async () => {
    const s = await freshLogin();
    const expired = await tokenExpiringAt(Math.floor(Date.now() / 1000) - 60);
    const f = countingFetch();
    const c = client({ token: expired, refreshToken: s.refreshToken, fetch: f.fetch, refreshMarginMs: -3_600_000 });
    // connection_init with the expired token: 4401. The client renews and subscribes again; the gateway accepts the
    // new token and relays to the chat subgraph, which is not running here: UPSTREAM_UNAVAILABLE, not UNAUTHENTICATED.
    const it = c.subscribe(MessageEventsDocument, { messageId: randomUUID() });
    const err = await it.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataPilotClientError);
    expect((err as DataPilotClientError).code).toBe('UPSTREAM_UNAVAILABLE');
    expect((err as DataPilotClientError).closeCode).toBeUndefined();
    expect(f.calls.map((x) => x.op)).toEqual(['RefreshToken']);
    expect(c.session!.accessToken).not.toBe(expired);
    await c.close();
  });
});

describe('one ErrorCode for every failure', () => {
  it('maps GraphQL errors, HTTP statuses, close codes and network failures', async () => {
    const codeOf = async (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: DataPilotClientError) => [e.code, e.status, e.serverCode ?? null],
      );
    const anon = client({});
    // A wrong password: UNAUTHENTICATED (README, login).
    expect(await codeOf(anon.login(EMAIL, 'a wrong password 2026'))).toEqual(['UNAUTHENTICATED', 200, null]);
    // A field refused for want of a credential (none sent: a field error, HTTP 200).
    expect(await codeOf(anon.me())).toEqual(['UNAUTHENTICATED', 200, null]);
    // Apollo's own request codes are client errors: BAD_USER_INPUT, the original kept.
    expect(await codeOf(anon.request(parse('{ nope }') as never, {}))).toEqual([
      'BAD_USER_INPUT',
      400,
      'GRAPHQL_VALIDATION_FAILED',
    ]);
    // A malformed argument.
    const signed = client({ credentials: { email: EMAIL, password: PASSWORD } });
    expect(await codeOf(signed.switchOrganization('not-a-uuid'))).toEqual(['BAD_USER_INPUT', 200, null]);
    // A subgraph that is not running.
    expect(await codeOf(signed.tables())).toEqual(['UPSTREAM_UNAVAILABLE', 200, null]);
    // An id no manifest holds.
    const byId = client({
      documentMode: 'id',
      fetch: (async (url, init) =>
        fetch(url, {
          ...init,
          body: String(init!.body).replace(/"documentId":"\w+"/, '"documentId":"' + 'f'.repeat(64) + '"'),
        })) as typeof fetch,
    });
    expect(await codeOf(byId.me())).toEqual(['PERSISTED_QUERY_NOT_FOUND', 400, null]);
    // An HTTP answer without a GraphQL body, and no server at all.
    expect(await codeOf(client({ url: `${gateway.url}/nowhere` }).me())).toEqual(['NOT_FOUND', 404, null]);
    const closed = `http://127.0.0.1:${await freePort()}/graphql`;
    expect(await codeOf(client({ url: closed }).me())).toEqual(['UPSTREAM_UNAVAILABLE', undefined, null]);
    // A socket refused at connection_init (no credential): 4401 → UNAUTHENTICATED, nothing to renew.
    const sub = anon.subscribe(MessageEventsDocument, { messageId: randomUUID() });
    const e = await sub.next().then(
      () => undefined,
      (x: DataPilotClientError) => x,
    );
    expect([e?.code, e?.closeCode]).toEqual(['UNAUTHENTICATED', 4401]);
    await anon.close();
    await signed.close();
  });

  it('gives each close code and bare HTTP status the code of the README tables', () => {
    expect([4401, 1013, 4008, 4400, 1009, 1006].map(codeOfClose)).toEqual([
      'UNAUTHENTICATED',
      'UPSTREAM_UNAVAILABLE',
      'RATE_LIMITED',
      'BAD_USER_INPUT',
      'BAD_USER_INPUT',
      'UPSTREAM_UNAVAILABLE',
    ]);
    expect([401, 403, 404, 409, 413, 429, 500, 502, 503, 504].map(codeOfHttpStatus)).toEqual([
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'NOT_FOUND',
      'CONFLICT',
      'BAD_USER_INPUT',
      'RATE_LIMITED',
      'INTERNAL',
      'UPSTREAM_UNAVAILABLE',
      'UPSTREAM_UNAVAILABLE',
      'UPSTREAM_TIMEOUT',
    ]);
  });
});
