/**
 * Chat integration plumbing: a fresh PostgreSQL database (infra/postgres/testing.ts: DATABASE_URL's server, else
 * Debian's PostgreSQL in a temporary cluster), the chat migrations, a chat server on a free port, token signing, and
 * GraphQL clients over HTTP (fetch) and WebSocket (graphql-ws, ws).
 */
import pg from 'pg';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { createLogger, createAuthenticator, tokenRoleOnly } from '@datapilot/common';
import { startTestDatabase, type TestDatabase } from '../../../../infra/postgres/testing.ts';
import { createChatServer, migrateChatSchema, type ChatServer, type ChatServerOptions } from '../../src/server.ts';
import type { TenantLakes } from '../../src/responder.ts';
import { createTestIssuer, type TestIssuer } from './tokens.ts';

export type GqlResult = {
  status: number;
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, any> }[];
};

/** POSTs a GraphQL operation; returns the HTTP status and the parsed body. */
export async function gql(url: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) } as GqlResult;
}

/** A graphql-ws client that authenticates with `token` in connection_init; no retries. Resolves once acknowledged. */
export async function wsClient(wsUrl: string, token: string): Promise<Client> {
  let ack: () => void;
  const acked = new Promise<void>((r) => (ack = r));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    on: { connected: () => ack() },
  });
  await acked;
  return client;
}

/** Runs subscription `query` to its end; returns every `next` payload (data or errors) in order. */
export async function collect(client: Client, query: string, variables: Record<string, unknown>) {
  const results: { data?: any; errors?: GqlResult['errors'] }[] = [];
  for await (const r of client.iterate({ query, variables })) results.push(r as never);
  return results;
}

/**
 * Opens a raw graphql-transport-ws socket, sends connection_init with `payload`, and resolves when it closes:
 * whether it was acknowledged first, the close code and reason, and the milliseconds from open to close.
 */
export function rawConnection(wsUrl: string, payload: Record<string, unknown> | undefined) {
  return new Promise<{ acked: boolean; code: number; reason: string; ms: number }>((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    const start = Date.now();
    let acked = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', ...(payload ? { payload } : {}) })));
    socket.on('message', (m) => {
      if (JSON.parse(String(m)).type === 'connection_ack') acked = true;
    });
    socket.on('close', (code, reason) => resolve({ acked, code, reason: String(reason), ms: Date.now() - start }));
    socket.on('error', reject);
  });
}

export type ChatFixture = {
  db: TestDatabase;
  /** The chat server's pool: the runtime role datapilot_chat, bound by row-level security. */
  pool: pg.Pool;
  /** The superuser's pool, for a test's own SQL (fixtures, checks of stored rows): no policy binds it. */
  ownerPool: pg.Pool;
  issuer: TestIssuer;
  /** Starts a chat server on a free port with `lake` (and `options`, e.g. an analyst); stopped by `stop()`. */
  serve(lake: TenantLakes, streamDelayMs?: number, options?: Partial<ChatServerOptions>): Promise<ChatServer>;
  stop(): Promise<void>;
};

/** A fresh database with the chat schema and a token issuer whose public key the servers trust. */
export async function startChatFixture(): Promise<ChatFixture> {
  const db = await startTestDatabase();
  const ownerPool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrateChatSchema(ownerPool);
  const pool = new pg.Pool({ connectionString: await db.urlAs('datapilot_chat'), max: 8 });
  const issuer = await createTestIssuer();
  const servers: ChatServer[] = [];
  return {
    db,
    pool,
    ownerPool,
    issuer,
    async serve(lake, streamDelayMs = 15, options = {}) {
      const server = await createChatServer({
        pool,
        lake,
        authenticator: createAuthenticator({ verifier: issuer.verifier, principal: tokenRoleOnly }),
        port: 0,
        logger: createLogger('chat-test', 'error'),
        streamDelayMs,
        ...options,
      });
      servers.push(server);
      return server;
    },
    async stop() {
      for (const s of servers) await s.close();
      await pool.end();
      await ownerPool.end();
      await db.close();
    },
  };
}

/** Fields of a Message, for every query. */
export const MESSAGE_FIELDS =
  'id conversationId role status text sql result { columns { name type } rows } errorCode createdAt statusText chart ' +
  'plan { summary table measure filters grouping json }';
export const CREATE = 'mutation($t: String!) { createConversation(title: $t) { id title createdAt } }';
export const SEND = `mutation($c: ID!, $x: String!) { sendMessage(conversationId: $c, text: $x) {
  userMessage { ${MESSAGE_FIELDS} } assistantMessage { ${MESSAGE_FIELDS} } } }`;
export const MESSAGE = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
export const CONVERSATION = `query($id: ID!, $first: Int, $after: String) { conversation(id: $id) { id title
  messages(first: $first, after: $after) { edges { cursor node { id role status text } } pageInfo { hasNextPage endCursor } } } }`;
export const CONVERSATIONS = `query($first: Int, $after: String) { conversations(first: $first, after: $after) {
  edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }`;
export const EVENTS = `subscription($id: ID!) { messageEvents(messageId: $id) {
  messageId sequence kind textDelta message { ${MESSAGE_FIELDS} } } }`;

/** Polls `message(id)` until it is COMPLETE or FAILED (at most `timeoutMs`, default 120 s). */
export async function waitForFinal(url: string, id: string, token: string, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await gql(url, MESSAGE, { id }, token);
    const m = r.data?.message;
    if (m && (m.status === 'COMPLETE' || m.status === 'FAILED')) return m;
    if (Date.now() > end) throw new Error(`message ${id} did not finish: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
