// Trusted documents (issue 7, section 5) on the real gateway in front of the real auth subgraph (the other subgraphs
// are not running: a subscription that passes the check is relayed to a chat subgraph that is not there and answers
// UPSTREAM_UNAVAILABLE, which shows it was let through). The manifest is the SDK's, sdk/persisted-documents.json;
// each document id the test uses is computed here with node:crypto from the manifest's text, and the "in full" texts
// are written by hand in another order and layout than the manifest's.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { createLogger, createServiceAuthenticator } from '@datapilot/common';
import { startAuth, SIGNUP, gql } from '../../subgraphs/auth/test/helpers.ts';
import { freePort } from '../../infra/net.ts';
import { supergraphFromDefs } from '../src/compose.ts';
import { createGatewayServer } from '../src/server.ts';
import { SDK_MANIFEST_PATH, loadTrustedDocuments, trustedDocumentsSetting } from '../src/trusted-documents.ts';
import { loadSubgraphDefs } from '../../scripts/lib/subgraphs.ts';

const MANIFEST = JSON.parse(readFileSync(SDK_MANIFEST_PATH, 'utf8')) as Record<string, string>;
/** The id of the manifest's document whose text holds `operation`: the SHA-256 of that text, computed here. */
const idOf = (operation: string) => {
  const text = Object.values(MANIFEST).find((t) => t.includes(operation));
  if (!text) throw new Error(`no manifest document holds ${operation}`);
  return createHash('sha256').update(text).digest('hex');
};
const ME_ID = idOf('query Me {');
const EVENTS_ID = idOf('subscription MessageEvents(');
/** The SDK's `Me` query, its fields in another order and layout than the manifest's. */
const ME_IN_FULL = `query Me {\n  me {\n    user { id email }\n    role\n    organization { name id }\n  }\n}`;
const AD_HOC = `{ me { role } }`;

let auth: Awaited<ReturnType<typeof startAuth>>;
let token: string;
const gateways: { url: string; close(): Promise<void> }[] = [];

async function startGateway(enforce: boolean | undefined) {
  const dead = `http://127.0.0.1:${await freePort()}/graphql`;
  const gw = await createGatewayServer({
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
    authenticator: createServiceAuthenticator(auth.server.jwksUrl),
    port: 0,
    logger: createLogger('trusted-documents-test', 'error'),
    // undefined: the gateway's default (not enforced, SDK ids resolved).
    ...(enforce === undefined
      ? {}
      : { trustedDocuments: await loadTrustedDocuments({ manifestPath: SDK_MANIFEST_PATH, enforce }) }),
  });
  gateways.push(gw);
  return `${gw.url}/graphql`;
}

let strict: string;
let open: string;

beforeAll(async () => {
  auth = await startAuth();
  strict = await startGateway(true);
  open = await startGateway(undefined);
  const email = `trusted-${randomUUID().slice(0, 8)}@example.org`;
  const r = await gql(open, SIGNUP, {
    input: { email, password: 'a long enough password 2026', orgName: 'Trust Org' },
  });
  expect(r.errors).toBeUndefined();
  token = r.data!.signup.accessToken;
}, 120_000);

afterAll(async () => {
  for (const g of gateways) await g.close();
  await auth?.stop();
});

/** POSTs `body` as JSON with the test user's token: HTTP status, data and error codes. */
async function post(url: string, body: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, data: json.data, codes: (json.errors ?? []).map((e) => e.extensions?.code) };
}

/** Subscribes over graphql-ws with `payload`; resolves with the first result's error codes (or its data). */
async function firstOverWs(url: string, payload: Record<string, unknown>) {
  const client = createClient({
    url: url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  try {
    const it = client.iterate({ query: '', ...payload } as { query: string });
    try {
      const r = await it.next();
      return { codes: (r.value?.errors ?? []).map((e: any) => e.extensions?.code), data: r.value?.data };
    } catch (e) {
      return { codes: (e as { extensions?: { code?: string } }[]).map((x) => x.extensions?.code) };
    }
  } finally {
    await client.dispose();
  }
}

describe('with trusted documents on', () => {
  it('runs an SDK document sent by id (documentId, sha256: prefix, APQ hash, GET) and in full', async () => {
    const want = { status: 200, codes: [], role: 'OWNER' };
    const got = (r: Awaited<ReturnType<typeof post>>) => ({ status: r.status, codes: r.codes, role: r.data?.me?.role });
    expect(got(await post(strict, { documentId: ME_ID, operationName: 'Me' }))).toEqual(want);
    expect(got(await post(strict, { documentId: `sha256:${ME_ID}` }))).toEqual(want);
    expect(got(await post(strict, { extensions: { persistedQuery: { version: 1, sha256Hash: ME_ID } } }))).toEqual(
      want,
    );
    expect(got(await post(strict, { query: ME_IN_FULL }))).toEqual(want);
    const res = await fetch(`${strict}?documentId=${ME_ID}`, {
      headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).data.me.role).toBe('OWNER');
  });

  it('answers PERSISTED_QUERY_NOT_FOUND (HTTP 400, no data) to an ad-hoc document and an unknown id', async () => {
    const refused = { status: 400, data: undefined, codes: ['PERSISTED_QUERY_NOT_FOUND'] };
    expect(await post(strict, { query: AD_HOC })).toEqual(refused);
    expect(await post(strict, { documentId: 'f'.repeat(64) })).toEqual(refused);
    // Introspection (Sandbox's first request) is a document like any other.
    expect(await post(strict, { query: '{ __schema { queryType { name } } }' })).toEqual(refused);
  });

  it('over WebSocket: refuses an ad-hoc subscription, lets the SDK document through by id and in full', async () => {
    const adHoc = `subscription($id: ID!) { messageEvents(messageId: $id) { sequence } }`;
    expect(await firstOverWs(strict, { query: adHoc, variables: { id: randomUUID() } })).toEqual({
      codes: ['PERSISTED_QUERY_NOT_FOUND'],
    });
    // Let through, then relayed to the chat subgraph, which is not running here.
    const relayed = { codes: ['UPSTREAM_UNAVAILABLE'], data: undefined };
    expect(await firstOverWs(strict, { documentId: EVENTS_ID, variables: { messageId: randomUUID() } })).toEqual(
      relayed,
    );
    expect(await firstOverWs(strict, { query: MANIFEST[EVENTS_ID]!, variables: { messageId: randomUUID() } })).toEqual(
      relayed,
    );
  });
});

describe('with trusted documents off (development)', () => {
  it('runs ad-hoc documents and SDK documents by id; an unknown id answers PERSISTED_QUERY_NOT_FOUND', async () => {
    expect((await post(open, { query: AD_HOC })).data).toEqual({ me: { role: 'OWNER' } });
    expect((await post(open, { documentId: ME_ID })).data.me.role).toBe('OWNER');
    expect(await post(open, { documentId: 'f'.repeat(64) })).toEqual({
      status: 400,
      data: undefined,
      codes: ['PERSISTED_QUERY_NOT_FOUND'],
    });
    expect(await firstOverWs(open, { documentId: EVENTS_ID, variables: { messageId: randomUUID() } })).toEqual({
      codes: ['UPSTREAM_UNAVAILABLE'],
      data: undefined,
    });
  });
});

describe('GATEWAY_TRUSTED_DOCUMENTS', () => {
  it('defaults to the SDK manifest, enforced in production only; `off` and a path as documented', () => {
    expect(trustedDocumentsSetting(undefined, true)).toEqual({ manifestPath: SDK_MANIFEST_PATH, enforce: true });
    expect(trustedDocumentsSetting(undefined, false)).toEqual({ manifestPath: SDK_MANIFEST_PATH, enforce: false });
    expect(trustedDocumentsSetting('off', true)).toEqual({ manifestPath: SDK_MANIFEST_PATH, enforce: false });
    expect(trustedDocumentsSetting('/etc/m.json', false)).toEqual({ manifestPath: '/etc/m.json', enforce: true });
  });

  it('refuses to start on a manifest whose key is not its document’s hash, or a missing one when enforced', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trusted-'));
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ [ME_ID]: AD_HOC }));
    await expect(loadTrustedDocuments({ manifestPath: bad, enforce: true })).rejects.toThrow(
      `in ${bad}, "${ME_ID}" is not the SHA-256 of its document`,
    );
    const missing = path.join(dir, 'missing.json');
    await expect(loadTrustedDocuments({ manifestPath: missing, enforce: true })).rejects.toThrow(
      `cannot read the manifest ${missing}`,
    );
    expect((await loadTrustedDocuments({ manifestPath: missing, enforce: false })).size).toBe(0);
  });
});
