/**
 * GraphQL subscriptions over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`) on the same node:http server
 * and path as a service's HTTP GraphQL: one implementation for every endpoint that serves them — the chat and lake
 * subgraphs, and the gateway's subscription edge (which relays each subscription to its subgraph).
 */
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  specifiedRules,
  subscribe as graphqlSubscribe,
  GraphQLError,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkOperation, checkSource, PARSE_OPTIONS, resolveBounds, type OperationBounds } from './bounds.ts';
import { int } from './config.ts';
import { PRINCIPAL_TTL_MS, SESSION_ENDED, type Authenticator } from './context.ts';
import { hasErrorCode } from './errors.ts';
import { modeValidation } from './production.ts';
import { MAX_BODY_BYTES } from './http.ts';
import type { RequestContext, TenantContext } from './tenancy.ts';

/**
 * WebSocket close codes of DataPilot sockets (graphql-ws's own codes, e.g. 4400/4409, keep their meaning).
 * - 4401: no credential, a refused one (bad, expired, foreign), a token that expired while connected, or a session
 *   that ended while connected (a removed member, a revoked session or API key; re-checked every
 *   {@link PRINCIPAL_TTL_MS}).
 * - 1013 (Try Again Later): the credential could not be checked (the auth service or its keys are unreachable).
 * - 4008 (`SLOW_CONSUMER`, reason "Too many pending messages; ..."): the client fell too far behind — more results
 *   waited to be sent on its socket than {@link WsSendBounds} allow; the socket's subscriptions end. Reconnect and
 *   resume (`messageEvents(afterSequence:)`, or re-query the state). A number graphql-ws does not use (its 4429 means
 *   a second `connection_init`), and not one its client treats as fatal: it reconnects by itself.
 * 4403 is not used: another user's or organization's object answers a NOT_FOUND error on that one subscription, so
 * existence is not revealed and the socket's other subscriptions go on.
 */
export const WS_CLOSE = { UNAUTHORIZED: 4401, UPSTREAM_UNAVAILABLE: 1013, SLOW_CONSUMER: 4008 } as const;

/**
 * How much may wait to be sent on one socket before the client is a slow consumer (closed with
 * {@link WS_CLOSE}.SLOW_CONSUMER). Checked each time a subscription of the socket produces a result.
 */
export type WsSendBounds = {
  /**
   * Most results written to the socket by its pushed streams ({@link WsConnection.resultStream}, all its
   * subscriptions together) and not yet flushed to the network. (A pulled source needs no bound: graphql-ws writes
   * one result of a subscription at a time and pulls the next only once the socket has taken it.) Default 1000.
   */
  maxPendingMessages: number;
  /** Most bytes written to the socket and not yet taken by the network (ws `bufferedAmount`), in bytes. Default 1 MiB. */
  maxBufferedBytes: number;
};

/** The default {@link WsSendBounds}: 1000 results, 1 MiB. */
export const DEFAULT_WS_SEND_BOUNDS: Readonly<WsSendBounds> = Object.freeze({
  maxPendingMessages: 1000,
  maxBufferedBytes: 1024 * 1024,
});

/**
 * The variables of a service that serves subscriptions, for `loadConfig({ ...WS_SEND_CONFIG, ... })` (the gateway's
 * config): {@link WsSendBounds} of each of its sockets, defaults {@link DEFAULT_WS_SEND_BOUNDS}.
 */
export const WS_SEND_CONFIG = {
  WS_MAX_PENDING_MESSAGES: int(
    'most subscription results waiting to be sent on one WebSocket before it is closed with 4008 (slow consumer)',
    DEFAULT_WS_SEND_BOUNDS.maxPendingMessages,
    1,
    1_000_000,
  ),
  WS_MAX_BUFFERED_BYTES: int(
    'most bytes written to one WebSocket and not yet taken by the network before it is closed with 4008, in bytes',
    DEFAULT_WS_SEND_BOUNDS.maxBufferedBytes,
    1024,
    2 ** 30,
  ),
};

/** The reason sent with {@link WS_CLOSE}.SLOW_CONSUMER (a close reason holds at most 123 bytes). */
export const SLOW_CONSUMER_REASON = 'Too many pending messages; reconnect and resume (afterSequence).';

/** Ends an operation whose socket can no longer be written to (closing, or given up as a slow consumer). */
class SocketNotWritable extends Error {}

/**
 * What the result streams of one socket share: the results written and not yet flushed to the network, and how to
 * give up on the socket.
 */
type SendBudget = { pending: number; stopped: boolean; overflow(): void; readonly max: number };

/**
 * An execution result serialized once for any number of sockets (see {@link GraphQLWebSocket.serialize}): the UTF-8
 * JSON of a graphql-ws `next` message's `payload` (`{data, errors, extensions}`, errors already through the
 * service's `formatError`), followed by the `}` that closes the message.
 */
export type SerializedResult = { readonly bytes: Buffer };

/**
 * One subscription's results written straight to its socket (see {@link WsConnection.resultStream}): each
 * {@link SerializedResult} is framed as that operation's `next` message and handed to the socket at once — no
 * queue, no per-subscriber serialization, no promise per result.
 */
export type ResultStream = {
  /**
   * Writes `result` as the operation's next result. Refused (false) once the stream ended or stopped, and when the
   * socket is too far behind ({@link WsSendBounds}): then the socket is closed with 4008 and every stream of it
   * stops (each `onStop` runs).
   */
  write(result: SerializedResult): boolean;
  /** Ends the operation after what was written: graphql-ws then sends its `complete`. */
  end(): void;
  /** What the subscription returns to graphql-ws: yields nothing itself, finishes when the stream ends or stops. */
  iterator: AsyncIterableIterator<ExecutionResult>;
};

/**
 * The {@link ResultStream} of operation `id` on `socket`. `onStop` runs once: when the consumer returned (the client
 * completed the operation, or its socket closed) or the socket gave up; not after `end()`. `release` runs once when
 * the stream is finished, whichever way (the socket forgets it: a long-lived socket keeps only its running streams).
 */
function resultStream(
  socket: WebSocket,
  id: string,
  limits: { budget: SendBudget; maxBufferedBytes: number; written: () => void },
  onStop: () => void,
  release: () => void,
): ResultStream & { drop(): void } {
  // graphql-transport-ws `next`: {"id":<id>,"type":"next","payload":<ExecutionResult>}; `id` is the client's (a
  // string, checked by graphql-ws), escaped by JSON.stringify.
  const prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  let finished = false; // nothing more is written
  let stopped = false;
  let waiter: ((r: IteratorResult<ExecutionResult>) => void) | null = null;
  const done = { value: undefined, done: true } as const;
  const finish = () => {
    if (!finished) release();
    finished = true;
    const w = waiter;
    waiter = null;
    w?.(done);
  };
  const drop = () => {
    finish();
    if (!stopped) {
      stopped = true;
      onStop();
    }
  };
  const { budget } = limits;
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: () => (finished ? Promise.resolve(done) : new Promise((r) => (waiter = r))),
    async return() {
      drop();
      return done;
    },
    async throw(e?: unknown) {
      drop();
      throw e;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return {
    write(result) {
      if (finished) return false;
      if (socket.readyState !== socket.OPEN) {
        // Closing: graphql-ws returns every operation of the socket when it has closed; nothing can be sent now.
        drop();
        return false;
      }
      if (budget.pending >= budget.max || socket.bufferedAmount > limits.maxBufferedBytes) {
        budget.overflow();
        return false;
      }
      budget.pending++;
      socket.send(Buffer.concat([prefix, result.bytes]), { binary: false }, limits.written);
      return true;
    },
    end: finish,
    iterator,
    drop,
  };
}

/** Most subscriptions one socket may have running at once (gateway and subgraphs alike). */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

/**
 * Most subscriptions one shared socket (a socket whose operations each carry their credential, see
 * {@link attachGraphQLWebSocket}: the gateway's multiplexed upstream) may have running at once.
 */
export const MAX_SUBSCRIPTIONS_PER_SHARED_SOCKET = 20_000;

/**
 * The `connection_init` payload of a shared socket: no credential for the socket, one per operation instead, in the
 * `subscribe` message's `extensions` as `{ authorization: "Bearer <token>" }` (see {@link attachGraphQLWebSocket}).
 */
export const SHARED_CONNECTION_PARAMS = Object.freeze({ perOperationCredentials: true });

/**
 * How many times a socket's send bounds ({@link WsSendBounds}) a shared socket gets: it multiplexes up to
 * {@link MAX_SUBSCRIPTIONS_PER_SHARED_SOCKET} operations of many subscribers (the gateway's upstream), so a burst
 * across them is not one slow client; with the default bounds, 64,000 results and 64 MiB unsent at most. The
 * gateway bounds each of its own clients with the socket bounds.
 */
export const SHARED_SOCKET_SEND_BOUND_FACTOR = 64;

/**
 * graphql-ws `onSubscribe` check of {@link MAX_SUBSCRIPTIONS_PER_SOCKET}: graphql-ws records each operation in
 * `ctx.subscriptions` before this hook runs (the new one included) and removes it when it ends.
 * @returns a RATE_LIMITED error for the new subscription when the socket has too many, else undefined.
 */
export function subscriptionLimit(
  ctx: { subscriptions: Record<string, unknown> },
  max = MAX_SUBSCRIPTIONS_PER_SOCKET,
): GraphQLError[] | undefined {
  if (Object.keys(ctx.subscriptions).length <= max) return undefined;
  return [
    new GraphQLError(`A socket may run at most ${max} subscriptions at once; complete some first.`, {
      extensions: { code: 'RATE_LIMITED' },
    }),
  ];
}

/**
 * Documents already parsed and validated against one schema, by their text: a document (valid) or its errors. Many
 * subscribers send the same text (every client of one app); steps 1-2 of {@link prepareSubscription} run once per
 * text. At most {@link DOCUMENT_CACHE_MAX} texts, the oldest dropped first.
 */
export type DocumentCache = Map<string, DocumentNode | GraphQLError[]>;
/** Most texts one {@link DocumentCache} keeps. */
export const DOCUMENT_CACHE_MAX = 1_000;

/** Steps 1-2 of {@link prepareSubscription}: the text's nesting, parsing, validation against `schema`. */
function parseAndValidate(schema: GraphQLSchema, query: string): DocumentNode | GraphQLError[] {
  let document: DocumentNode;
  try {
    checkSource(query);
    document = parse(query, PARSE_OPTIONS);
  } catch (e) {
    if (hasErrorCode(e)) return [e as GraphQLError];
    return [
      coded(e instanceof GraphQLError ? e : new GraphQLError(String((e as Error)?.message)), 'GRAPHQL_PARSE_FAILED'),
    ];
  }
  // Production mode (production.ts): no introspection, no "Did you mean" suggestions, as over HTTP.
  const mode = modeValidation();
  const invalid = validate(schema, document, [...specifiedRules, ...mode.rules], {
    hideSuggestions: mode.hideSuggestions,
  });
  if (invalid.length) return invalid.map((e) => coded(e, 'GRAPHQL_VALIDATION_FAILED'));
  return document;
}

/** A parse or validation error with the code Apollo Server gives the same error over HTTP. */
function coded(e: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    extensions: { code },
  });
}

/**
 * Prepares one graphql-ws `subscribe` payload the way an HTTP request is handled, so that every refusal is an error
 * on that one operation (the socket and its other subscriptions go on), each with the code HTTP would give:
 * 1. the text's nesting ({@link checkSource}) → BAD_USER_INPUT; parsing (at most {@link PARSE_OPTIONS} tokens)
 *    → GRAPHQL_PARSE_FAILED;
 * 2. validation against `schema` → GRAPHQL_VALIDATION_FAILED;
 * 3. the operation: several without `operationName`, or not a subscription (queries and mutations go over HTTP)
 *    → BAD_USER_INPUT;
 * 4. {@link checkOperation} (input values and variables, depth, fields, cost), before the variables are coerced
 *    (coercion recurses) → BAD_USER_INPUT;
 * 5. the variables: coerced to their declared types (a missing, null or ill-typed one) → BAD_USER_INPUT.
 * With `documents`, steps 1-2 are looked up by the text first ({@link DocumentCache}).
 * @returns the document, the operation name and the variables as received (valid), or the errors to send.
 */
export function prepareSubscription(
  schema: GraphQLSchema,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  bounds: OperationBounds,
  documents?: DocumentCache,
): { document: DocumentNode; operationName?: string; variableValues: Record<string, unknown> } | GraphQLError[] {
  const bad = (message: string) => [new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } })];
  if (typeof payload.query !== 'string') return bad('The subscribe message must carry a query string.');
  const parsed = documents?.get(payload.query) ?? parseAndValidate(schema, payload.query);
  if (documents && !documents.has(payload.query)) {
    documents.set(payload.query, parsed);
    if (documents.size > DOCUMENT_CACHE_MAX) documents.delete(documents.keys().next().value as string);
  }
  if (Array.isArray(parsed)) return parsed;
  const document = parsed;
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation) return bad('The document has several operations (or not the one named): send operationName.');
  if (operation.operation !== 'subscription')
    return bad('Only subscriptions are served over WebSocket; send queries and mutations over HTTP.');
  const variables = payload.variables ?? {};
  try {
    checkOperation({ schema, document, operation, variables }, bounds);
  } catch (e) {
    return [e as GraphQLError];
  }
  // Coerced here so that a bad variable is BAD_USER_INPUT; execution coerces the raw values again.
  const coercion = getVariableValues(schema, operation.variableDefinitions ?? [], variables, {
    hideSuggestions: modeValidation().hideSuggestions,
  });
  if (coercion.errors) return coercion.errors.map((e) => coded(e, 'BAD_USER_INPUT'));
  return { document, operationName: payload.operationName ?? undefined, variableValues: variables };
}

/**
 * One operation's WebSocket connection, as the `context` function of {@link attachGraphQLWebSocket} sees it:
 * `signal` aborts when the socket closes (whatever the reason), after its subscriptions were ended.
 */
export type WsConnection = {
  readonly signal: AbortSignal;
  /**
   * A {@link ResultStream} for this operation, whose results are pushed (the gateway's relay: an upstream socket
   * delivers them whether this client reads or not) and written to the socket as they come; the subscription returns
   * its `iterator`. What it wrote and the network has not taken yet counts against the socket's
   * {@link WsSendBounds}; past them the socket is closed with 4008 and every stream of the socket stops (`onStop`
   * runs: stop the source). A pulled source (an async generator) needs none: graphql-ws pulls the next result only
   * once the socket has written the previous one. At most one per operation.
   */
  resultStream(onStop: () => void): ResultStream;
};

/** A running WebSocket endpoint; see {@link attachGraphQLWebSocket}. */
export type GraphQLWebSocket = {
  /**
   * `result` as every socket of this endpoint sends it (errors through `formatError`), serialized once: for a result
   * written to many {@link ResultStream}s (one upstream event fanned out to thousands of subscribers).
   */
  serialize(result: ExecutionResult): SerializedResult;
  /** Closes every socket (code 1001), stops graphql-ws and the WebSocket server. */
  close(): Promise<void>;
};

type SocketState = {
  /** The socket's tenant; null on a shared socket (each operation carries its own credential). */
  tenant: TenantContext | null;
  /** The connection of operation `id` (its result stream is framed with that id). */
  connection(id: string): WsConnection;
  stop(): void;
  /** The results written by this socket's result streams and not yet flushed to the network. */
  budget: SendBudget;
  /** Most bytes this socket may hold unsent before its next result (the shared socket's are scaled). */
  maxBufferedBytes: number;
};

/**
 * Serves `schema`'s subscriptions with graphql-ws on `server` at `path`.
 * - `connection_init` must carry `{ authorization: "Bearer <credential>" }`, read by `authenticator` exactly like an
 *   HTTP request's `Authorization` header; no credential or a refused one closes the socket with 4401, a credential
 *   that cannot be checked now with 1013. The socket is closed with 4401 when the token expires (at
 *   `authenticator.acceptedUntilMs`: `exp` plus the clock tolerance HTTP allows, TOKEN_CLOCK_TOLERANCE_SECONDS), and
 *   when `authenticator.stillActive` answers false (checked every `recheckMs`, default {@link PRINCIPAL_TTL_MS}: a
 *   removed member's subscriptions end within 10 s); with 1013 when that check fails.
 * - A shared socket (`perOperationCredentials`, on unless set false): `connection_init` carries
 *   {@link SHARED_CONNECTION_PARAMS} and no `authorization`; the socket is accepted without a tenant, and every
 *   `subscribe` must carry `extensions: { authorization: "Bearer <token>" }`, checked by `authenticator` for that
 *   operation exactly as a socket's credential is (no credential or a refused one: an UNAUTHENTICATED error on that
 *   operation, one that cannot be checked now: UPSTREAM_UNAVAILABLE; the socket and its other operations go on). The
 *   operation runs as that token's tenant and nothing else; it ends with an UNAUTHENTICATED error result when its
 *   token expires or its session ends (re-checked every `recheckMs`), UPSTREAM_UNAVAILABLE when that re-check fails —
 *   the 4401/1013 of a socket, per operation. Nothing on such a socket runs without a verified token: this is how the
 *   gateway multiplexes many subscribers over one upstream socket (gateway/src/subscriptions.ts). At most
 *   {@link MAX_SUBSCRIPTIONS_PER_SHARED_SOCKET} operations at once.
 * - Each subscription is prepared by {@link prepareSubscription} (bounds included); a refusal is an `error` message
 *   for that operation only.
 * - Each operation runs with `context(base, connection)`, where `base` is the same {@link RequestContext} an HTTP
 *   request gets (the socket's tenant, a fresh request id): the tenant comes from the credential alone.
 * - `subscribe` runs the prepared operation (default: graphql-js `subscribe` on `schema`).
 * - Errors leave through `formatError` (the service's Apollo hook: codes kept, internals masked).
 * - Frames are bounded like HTTP bodies ({@link MAX_BODY_BYTES}: a larger one closes the socket with 1009), and a
 *   socket runs at most {@link MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions at once (RATE_LIMITED beyond).
 * - What waits to be sent is bounded per socket (`sendBounds`, {@link WsSendBounds}). graphql-ws writes one result
 *   of a subscription at a time and pulls the next only once the socket took it, so a pulled source waits by itself;
 *   pushed results are written as they come ({@link WsConnection.resultStream}). When a result about to be written
 *   finds more than `maxPendingMessages` results of the socket's streams not flushed yet, or more than
 *   `maxBufferedBytes` bytes unsent in the socket, the streams are stopped, their sources told to stop, and the socket
 *   is closed with {@link WS_CLOSE}.SLOW_CONSUMER (4008); its subscriptions end. The close frame follows the unsent
 *   bytes; a peer that never reads them is cut off by `ws` after its 30 s close timeout. One socket thus holds at most
 *   `maxPendingMessages` results, plus about `maxBufferedBytes` bytes and the one result each subscription writes.
 */
export function attachGraphQLWebSocket<C>(opts: {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  authenticator: Authenticator;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  context: (base: RequestContext, connection: WsConnection) => C;
  /** Runs a prepared subscription (the gateway relays it to its subgraph); default graphql-js `subscribe`. */
  subscribe?: (args: ExecutionArgs) => Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;
  /** Bounds of each operation (default {@link DEFAULT_BOUNDS}). */
  bounds?: Partial<OperationBounds>;
  /** How often a connected session is re-checked, in milliseconds (default {@link PRINCIPAL_TTL_MS}). */
  recheckMs?: number;
  /** What may wait to be sent on one socket; a bound left out keeps its {@link DEFAULT_WS_SEND_BOUNDS} value. */
  sendBounds?: Partial<WsSendBounds>;
  /**
   * The text to run for a `subscribe` payload, before it is prepared (the gateway's trusted documents: a payload may
   * name a persisted document by `documentId`); errors refuse that operation. Default: the payload's `query`.
   */
  resolveDocument?: (payload: Record<string, unknown>) => { query?: string } | { error: GraphQLError };
  /** Whether shared sockets (a credential per operation) are accepted; default true (false: the gateway's edge). */
  perOperationCredentials?: boolean;
}): GraphQLWebSocket {
  const { authenticator, formatError, schema } = opts;
  const bounds = resolveBounds(opts.bounds);
  const sendBounds: WsSendBounds = { ...DEFAULT_WS_SEND_BOUNDS, ...opts.sendBounds };
  const recheckMs = opts.recheckMs ?? PRINCIPAL_TTL_MS;
  const wss = new WebSocketServer({ server: opts.server, path: opts.path, maxPayload: MAX_BODY_BYTES });
  const sockets = new WeakMap<WebSocket, SocketState>();
  /** The tenant of each operation of a shared socket, by its context value (watched by {@link guardOperation}). */
  const perOperation = new WeakMap<object, TenantContext>();
  const documents: DocumentCache = new Map();
  const run = opts.subscribe ?? ((args: ExecutionArgs) => graphqlSubscribe(args));
  const format = (errors: readonly unknown[]) =>
    errors.map((e) => formatError((e as { toJSON?: () => GraphQLFormattedError }).toJSON?.() ?? (e as never), e));
  /** The `payload` of a graphql-ws `next` message for `result`, as every socket sends it: errors through `formatError`. */
  const nextPayload = (result: ExecutionResult) =>
    result.errors ? { ...result, errors: format(result.errors) } : result;

  /** Starts the expiry timer and the session re-check of an accepted socket (none for a shared socket). */
  const watch = (socket: WebSocket, tenant: TenantContext | null): SocketState => {
    // A shared socket carries many subscribers' operations: its bounds are scaled (SHARED_SOCKET_SEND_BOUND_FACTOR).
    const scale = tenant ? 1 : SHARED_SOCKET_SEND_BOUND_FACTOR;
    const controller = new AbortController();
    const close = (code: number, reason: string) => {
      if (socket.readyState === socket.OPEN) socket.close(code, reason);
    };
    const { expiry, recheck } = tenant
      ? watchTenant(authenticator, tenant, recheckMs, (why) =>
          why === 'unavailable'
            ? close(WS_CLOSE.UPSTREAM_UNAVAILABLE, 'The session could not be confirmed; reconnect.')
            : close(
                WS_CLOSE.UNAUTHORIZED,
                why === 'expired' ? 'The access token has expired.' : SESSION_ENDED.slice(0, 120),
              ),
        )
      : { expiry: undefined, recheck: undefined };
    const streams = new Set<{ drop(): void }>();
    const dropAll = () => {
      for (const q of [...streams]) q.drop();
    };
    const budget: SendBudget = {
      pending: 0,
      stopped: false,
      max: sendBounds.maxPendingMessages * scale,
      overflow() {
        if (budget.stopped) return;
        budget.stopped = true;
        dropAll();
        close(WS_CLOSE.SLOW_CONSUMER, SLOW_CONSUMER_REASON);
      },
    };
    const maxBufferedBytes = sendBounds.maxBufferedBytes * scale;
    // One callback for every write of the socket: its result has been flushed (or the write failed).
    const limits = { budget, maxBufferedBytes, written: () => void budget.pending-- };
    return {
      tenant,
      connection: (id) => ({
        signal: controller.signal,
        resultStream(onStop: () => void) {
          const q = resultStream(socket, id, limits, onStop, () => streams.delete(q));
          streams.add(q);
          if (budget.stopped) q.drop();
          return q;
        },
      }),
      budget,
      maxBufferedBytes,
      stop() {
        clearTimeout(expiry);
        clearInterval(recheck);
        budget.stopped = true;
        dropAll();
        controller.abort();
      },
    };
  };

  const disposable = useServer<{ authorization?: unknown }>(
    {
      schema,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const params = ctx.connectionParams as Record<string, unknown> | undefined;
        if (
          opts.perOperationCredentials !== false &&
          params?.perOperationCredentials === true &&
          params.authorization === undefined
        ) {
          sockets.set(socket, watch(socket, null));
          return true;
        }
        let tenant: TenantContext | null;
        try {
          tenant = await authenticator.fromAuthorization(ctx.connectionParams?.authorization);
        } catch (e) {
          const unavailable = !hasErrorCode(e, 'UNAUTHENTICATED');
          socket.close(
            unavailable ? WS_CLOSE.UPSTREAM_UNAVAILABLE : WS_CLOSE.UNAUTHORIZED,
            (hasErrorCode(e) ? (e as Error).message : 'The credential could not be checked.').slice(0, 120),
          );
          return false;
        }
        if (!tenant) {
          socket.close(WS_CLOSE.UNAUTHORIZED, 'connection_init must carry { authorization: "Bearer <token>" }.');
          return false;
        }
        sockets.set(socket, watch(socket, tenant));
        return true;
      },
      onClose: (ctx) => sockets.get(ctx.extra.socket)?.stop(),
      onSubscribe: async (ctx, id, payload) => {
        const state = sockets.get(ctx.extra.socket);
        if (!state) return [new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } })];
        const limited = subscriptionLimit(ctx, state.tenant ? undefined : MAX_SUBSCRIPTIONS_PER_SHARED_SOCKET);
        if (limited) return limited;
        let tenant = state.tenant;
        if (!tenant) {
          // A shared socket: this operation's own credential, checked like a socket's (never trusted unverified).
          try {
            tenant = await authenticator.fromAuthorization(payload.extensions?.authorization);
          } catch (e) {
            if (hasErrorCode(e)) return [e as GraphQLError];
            return [
              new GraphQLError('The credential could not be checked; try again.', {
                extensions: { code: 'UPSTREAM_UNAVAILABLE' },
              }),
            ];
          }
          if (!tenant)
            return [
              new GraphQLError(
                'On a shared socket each subscribe must carry extensions: { authorization: "Bearer <token>" }.',
                { extensions: { code: 'UNAUTHENTICATED' } },
              ),
            ];
        }
        const resolved = opts.resolveDocument?.({ ...payload }) ?? {};
        if ('error' in resolved) return [resolved.error];
        const query = resolved.query ?? payload.query;
        const prepared = prepareSubscription(schema, { ...payload, query }, bounds, documents);
        if (Array.isArray(prepared)) return prepared;
        const contextValue = opts.context({ tenant, requestId: randomUUID() }, state.connection(id));
        if (!state.tenant && typeof contextValue === 'object' && contextValue !== null)
          perOperation.set(contextValue, tenant);
        return { schema, ...prepared, contextValue };
      },
      subscribe: async (args) => {
        const result = await run(args);
        const tenant = perOperation.get(args.contextValue as object);
        if (!tenant || !(Symbol.asyncIterator in result)) return result;
        return guardOperation(result, (end) => watchTenant(authenticator, tenant, recheckMs, end));
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        const socket = ctx.extra.socket;
        // A closing socket: graphql-ws would drop the result silently and pull the next one at once, running a
        // pulled source to its end until the socket's `close` event (up to ws's 30 s close timeout). Thrown here,
        // the operation ends and its source is returned.
        if (socket.readyState !== socket.OPEN) throw new SocketNotWritable('The socket is closing.');
        // About to write one more result: a socket still holding more than its bound of unsent bytes gives up.
        const state = sockets.get(socket);
        if (socket.bufferedAmount > (state?.maxBufferedBytes ?? sendBounds.maxBufferedBytes)) {
          state?.budget.overflow();
          throw new SocketNotWritable('The client is too far behind.');
        }
        return result.errors ? nextPayload(result) : undefined;
      },
      // The end of an operation whose socket is closing is no error to log (nothing can be sent anyway).
      onError: (_ctx, _id, _payload, errors) =>
        errors.every((e) => e.originalError instanceof SocketNotWritable) ? errors : format(errors),
    },
    wss,
  );
  return {
    serialize(result) {
      return { bytes: Buffer.from(`${JSON.stringify(nextPayload(result))}}`) };
    },
    async close() {
      for (const socket of wss.clients) socket.close(1001, 'Server shutting down.');
      await disposable.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/** Why a tenant's socket or operation must end: its token expired, its session ended, or that could not be checked. */
type EndReason = 'expired' | 'ended' | 'unavailable';

/**
 * The expiry timer and session re-check of one tenant (a socket's, or one operation's on a shared socket): `end` is
 * called at the token's `acceptedUntilMs` ('expired': the clock rule of HTTP, exp + the verifier's tolerance), and
 * when `authenticator.stillActive` answers false ('ended') or fails ('unavailable'), checked every `recheckMs`.
 * @returns the two timers, to clear when the socket or operation ends.
 */
function watchTenant(
  authenticator: Authenticator,
  tenant: TenantContext,
  recheckMs: number,
  end: (why: EndReason) => void,
): TenantWatch {
  // Max setTimeout is 2^31-1 ms (~24.8 days); tokens live minutes.
  const ms = Math.min(Math.max(authenticator.acceptedUntilMs(tenant) - Date.now(), 0), 2 ** 31 - 1);
  const expiry = setTimeout(() => end('expired'), ms);
  let checking = false;
  const recheck = setInterval(() => {
    if (checking) return;
    checking = true;
    authenticator
      .stillActive(tenant)
      .then(
        (active) => active || end('ended'),
        () => end('unavailable'),
      )
      .finally(() => (checking = false));
  }, recheckMs);
  return { expiry, recheck };
}

/** The error result that ends an operation of a shared socket, by reason (the 4401/1013 of a socket). */
function endResult(why: EndReason): ExecutionResult {
  const [message, code] =
    why === 'expired'
      ? ['The access token has expired.', 'UNAUTHENTICATED']
      : why === 'ended'
        ? [SESSION_ENDED, 'UNAUTHENTICATED']
        : ['The session could not be confirmed; subscribe again.', 'UPSTREAM_UNAVAILABLE'];
  return { errors: [new GraphQLError(message, { extensions: { code } })] };
}

/** The two timers of {@link watchTenant}. */
type TenantWatch = { expiry: ReturnType<typeof setTimeout>; recheck: ReturnType<typeof setInterval> };

/**
 * The results of one operation of a shared socket until its tenant's watch ends it: then one error result
 * ({@link endResult}) and the end. An iterator object rather than a generator, so that `return()` (graphql-ws's
 * `complete`) stops the watch and returns the source at once, even while a `next()` waits.
 */
function guardOperation(
  source: AsyncIterable<ExecutionResult>,
  watch: (end: (why: EndReason) => void) => TenantWatch,
): AsyncIterableIterator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  let ended: EndReason | null = null;
  let finished = false;
  let interrupt: (() => void) | null = null;
  const timers = watch((why) => {
    ended ??= why;
    interrupt?.();
  });
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timers.expiry);
    clearInterval(timers.recheck);
    interrupt?.();
    void Promise.resolve(it.return?.()).catch(() => undefined);
  };
  const done = { done: true, value: undefined } as const;
  const guarded: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      if (finished) return done;
      if (!ended) {
        const step = await new Promise<IteratorResult<ExecutionResult> | null>((resolve, reject) => {
          interrupt = () => resolve(null);
          it.next().then(resolve, reject);
        });
        interrupt = null;
        if (step) {
          if (step.done) finish();
          return step;
        }
        if (finished) return done;
      }
      const why = ended!;
      finish();
      return { done: false, value: endResult(why) };
    },
    async return() {
      finish();
      return done;
    },
    async throw(e?: unknown) {
      finish();
      throw e;
    },
    [Symbol.asyncIterator]() {
      return guarded;
    },
  };
  return guarded;
}
