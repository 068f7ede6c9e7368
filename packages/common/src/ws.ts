/**
 * GraphQL subscriptions over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`) on the same node:http server
 * and path as a service's HTTP GraphQL: one implementation for every endpoint that serves them — the chat and lake
 * subgraphs, and the gateway's subscription edge (which relays each subscription to its subgraph).
 */
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  specifiedRules,
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
   * Most results produced for the socket (all its subscriptions together) and not yet handed to it: graphql-ws sends
   * one result of a subscription at a time and waits until the socket has written it, so a client that does not
   * read leaves the rest here. Default 1000.
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

/** What the send queues of one socket share: the results waiting in all of them, and how to give up on the socket. */
type SendBudget = { pending: number; stopped: boolean; overflow(): void; readonly max: number };

/**
 * A queue of results for one subscription of a socket, fed by a push source (e.g. an upstream socket that delivers
 * whatever the client reads or not): `iterator` hands them to graphql-ws one at a time, as the socket writes them.
 * See {@link WsConnection.sendQueue}.
 */
export type SendQueue<T> = {
  /** Queues `value`; past the socket's `maxPendingMessages` the socket is closed with 4008 instead. */
  push(value: T): void;
  /** Ends the stream after the values queued so far; with `error`, `next()` then rejects with it. */
  end(error?: unknown): void;
  /** The values in order; `return()` drops what waits and calls `onStop`. */
  iterator: AsyncIterableIterator<T>;
};

/** The queue of {@link SendQueue}; `onStop` runs once, when the consumer returned or the socket gave up. */
function sendQueue<T>(budget: SendBudget, onStop: () => void): SendQueue<T> & { drop(): void } {
  const queue: T[] = [];
  let ended = false; // nothing more will be queued
  let failure: { error: unknown } | null = null;
  let stopped = false;
  let waiter: (() => void) | null = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  const drop = () => {
    budget.pending -= queue.length;
    queue.length = 0;
    failure = null;
    ended = true;
    if (!stopped) {
      stopped = true;
      onStop();
    }
    wake();
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        if (queue.length) {
          budget.pending--;
          return { value: queue.shift()!, done: false };
        }
        if (failure) {
          const { error } = failure;
          failure = null;
          throw error;
        }
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((r) => (waiter = r));
      }
    },
    async return() {
      drop();
      return { value: undefined, done: true };
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
    push(value) {
      if (ended) return;
      queue.push(value);
      budget.pending++;
      wake();
      if (budget.pending > budget.max) budget.overflow();
    },
    end(error) {
      if (ended) return;
      ended = true;
      if (error !== undefined) failure = { error };
      wake();
    },
    iterator,
    drop,
  };
}

/** Most subscriptions one socket may have running at once (gateway and subgraphs alike). */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

/**
 * graphql-ws `onSubscribe` check of {@link MAX_SUBSCRIPTIONS_PER_SOCKET}: graphql-ws records each operation in
 * `ctx.subscriptions` before this hook runs (the new one included) and removes it when it ends.
 * @returns a RATE_LIMITED error for the new subscription when the socket has too many, else undefined.
 */
export function subscriptionLimit(ctx: { subscriptions: Record<string, unknown> }): GraphQLError[] | undefined {
  if (Object.keys(ctx.subscriptions).length <= MAX_SUBSCRIPTIONS_PER_SOCKET) return undefined;
  return [
    new GraphQLError(
      `A socket may run at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions at once; complete some first.`,
      { extensions: { code: 'RATE_LIMITED' } },
    ),
  ];
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
 * @returns the document, the operation name and the variables as received (valid), or the errors to send.
 */
export function prepareSubscription(
  schema: GraphQLSchema,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  bounds: OperationBounds,
): { document: DocumentNode; operationName?: string; variableValues: Record<string, unknown> } | GraphQLError[] {
  const bad = (message: string) => [new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } })];
  if (typeof payload.query !== 'string') return bad('The subscribe message must carry a query string.');
  let document: DocumentNode;
  try {
    checkSource(payload.query);
    document = parse(payload.query, PARSE_OPTIONS);
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
    hideSuggestions: mode.hideSuggestions,
  });
  if (coercion.errors) return coercion.errors.map((e) => coded(e, 'BAD_USER_INPUT'));
  return { document, operationName: payload.operationName ?? undefined, variableValues: variables };
}

/**
 * One WebSocket connection, as the `context` function of {@link attachGraphQLWebSocket} sees it: `signal` aborts
 * when the socket closes (whatever the reason), after its subscriptions were ended.
 */
export type WsConnection = {
  readonly signal: AbortSignal;
  /**
   * A {@link SendQueue} for one subscription whose results are pushed (the gateway's relay: an upstream socket
   * delivers them whether this client reads or not). Its waiting results count against the socket's
   * `maxPendingMessages` ({@link WsSendBounds}); past it the socket is closed with 4008 and every queue of the
   * socket is dropped (`onStop` runs: stop the source). A pulled source (an async generator) needs none: graphql-ws
   * pulls the next result only once the socket has written the previous one.
   */
  sendQueue<T>(onStop: () => void): SendQueue<T>;
};

/** A running WebSocket endpoint; see {@link attachGraphQLWebSocket}. */
export type GraphQLWebSocket = {
  /** Closes every socket (code 1001), stops graphql-ws and the WebSocket server. */
  close(): Promise<void>;
};

type SocketState = {
  tenant: TenantContext;
  connection: WsConnection;
  stop(): void;
  /** The results waiting to be sent on this socket (in its send queues). */
  budget: SendBudget;
};

/**
 * Serves `schema`'s subscriptions with graphql-ws on `server` at `path`.
 * - `connection_init` must carry `{ authorization: "Bearer <credential>" }`, read by `authenticator` exactly like an
 *   HTTP request's `Authorization` header; no credential or a refused one closes the socket with 4401, a credential
 *   that cannot be checked now with 1013. The socket is closed with 4401 when the token expires (at
 *   `authenticator.acceptedUntilMs`: `exp` plus the clock tolerance HTTP allows, TOKEN_CLOCK_TOLERANCE_SECONDS), and
 *   when `authenticator.stillActive` answers false (checked every `recheckMs`, default {@link PRINCIPAL_TTL_MS}: a
 *   removed member's subscriptions end within 10 s); with 1013 when that check fails.
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
 *   pushed results wait in the socket's send queues ({@link WsConnection.sendQueue}). When a result pushed finds more
 *   than `maxPendingMessages` results waiting in them, or a result about to be written finds more than
 *   `maxBufferedBytes` bytes unsent in the socket, the queues are dropped, their sources told to stop, and the socket
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
}): GraphQLWebSocket {
  const { authenticator, formatError, schema } = opts;
  const bounds = resolveBounds(opts.bounds);
  const sendBounds: WsSendBounds = { ...DEFAULT_WS_SEND_BOUNDS, ...opts.sendBounds };
  const recheckMs = opts.recheckMs ?? PRINCIPAL_TTL_MS;
  const wss = new WebSocketServer({ server: opts.server, path: opts.path, maxPayload: MAX_BODY_BYTES });
  const sockets = new WeakMap<WebSocket, SocketState>();
  const format = (errors: readonly unknown[]) =>
    errors.map((e) => formatError((e as { toJSON?: () => GraphQLFormattedError }).toJSON?.() ?? (e as never), e));

  /** Starts the expiry timer and the session re-check of an accepted socket. */
  const watch = (socket: WebSocket, tenant: TenantContext): SocketState => {
    const controller = new AbortController();
    const close = (code: number, reason: string) => {
      if (socket.readyState === socket.OPEN) socket.close(code, reason);
    };
    // The clock rule of HTTP: closed from the instant a request with this token would be refused (exp + the
    // verifier's tolerance, tenancy.ts). Max setTimeout is 2^31-1 ms (~24.8 days); tokens live minutes.
    const ms = Math.min(Math.max(authenticator.acceptedUntilMs(tenant) - Date.now(), 0), 2 ** 31 - 1);
    const expiry = setTimeout(() => close(WS_CLOSE.UNAUTHORIZED, 'The access token has expired.'), ms);
    let checking = false;
    const recheck = setInterval(() => {
      if (checking) return;
      checking = true;
      authenticator
        .stillActive(tenant)
        .then(
          (active) => active || close(WS_CLOSE.UNAUTHORIZED, SESSION_ENDED.slice(0, 120)),
          () => close(WS_CLOSE.UPSTREAM_UNAVAILABLE, 'The session could not be confirmed; reconnect.'),
        )
        .finally(() => (checking = false));
    }, recheckMs);
    const queues = new Set<{ drop(): void }>();
    const dropAll = () => {
      for (const q of [...queues]) q.drop();
    };
    const budget: SendBudget = {
      pending: 0,
      stopped: false,
      max: sendBounds.maxPendingMessages,
      overflow() {
        if (budget.stopped) return;
        budget.stopped = true;
        dropAll();
        close(WS_CLOSE.SLOW_CONSUMER, SLOW_CONSUMER_REASON);
      },
    };
    const connection: WsConnection = {
      signal: controller.signal,
      sendQueue<T>(onStop: () => void) {
        const q = sendQueue<T>(budget, () => {
          queues.delete(q);
          onStop();
        });
        queues.add(q);
        if (budget.stopped) q.drop();
        return q;
      },
    };
    return {
      tenant,
      connection,
      budget,
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
      onSubscribe: (ctx, _id, payload) => {
        const state = sockets.get(ctx.extra.socket);
        if (!state) return [new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } })];
        const limited = subscriptionLimit(ctx);
        if (limited) return limited;
        const resolved = opts.resolveDocument?.({ ...payload }) ?? {};
        if ('error' in resolved) return [resolved.error];
        const query = resolved.query ?? payload.query;
        const prepared = prepareSubscription(schema, { ...payload, query }, bounds);
        if (Array.isArray(prepared)) return prepared;
        return {
          schema,
          ...prepared,
          contextValue: opts.context({ tenant: state.tenant, requestId: randomUUID() }, state.connection),
        };
      },
      ...(opts.subscribe ? { subscribe: opts.subscribe } : {}),
      onNext: (ctx, _id, _payload, _args, result) => {
        const socket = ctx.extra.socket;
        // A closing socket: graphql-ws would drop the result silently and pull the next one at once, running a
        // pulled source to its end until the socket's `close` event (up to ws's 30 s close timeout). Thrown here,
        // the operation ends and its source is returned.
        if (socket.readyState !== socket.OPEN) throw new SocketNotWritable('The socket is closing.');
        // About to write one more result: a socket still holding more than its bound of unsent bytes gives up.
        if (socket.bufferedAmount > sendBounds.maxBufferedBytes) {
          sockets.get(socket)?.budget.overflow();
          throw new SocketNotWritable('The client is too far behind.');
        }
        return result.errors ? { ...result, errors: format(result.errors) } : undefined;
      },
      // The end of an operation whose socket is closing is no error to log (nothing can be sent anyway).
      onError: (_ctx, _id, _payload, errors) =>
        errors.every((e) => e.originalError instanceof SocketNotWritable) ? errors : format(errors),
    },
    wss,
  );
  return {
    async close() {
      for (const socket of wss.clients) socket.close(1001, 'Server shutting down.');
      await disposable.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
