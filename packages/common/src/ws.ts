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
import { PRINCIPAL_TTL_MS, SESSION_ENDED, type Authenticator } from './context.ts';
import { hasErrorCode } from './errors.ts';
import { modeValidation } from './production.ts';
import { MAX_BODY_BYTES } from './http.ts';
import type { RequestContext, TenantContext } from './tenancy.ts';

/**
 * WebSocket close codes of DataPilot sockets (graphql-ws's own codes, e.g. 4400/4409/4429, keep their meaning).
 * - 4401: no credential, a refused one (bad, expired, foreign), a token that expired while connected, or a session
 *   that ended while connected (a removed member, a revoked session or API key; re-checked every
 *   {@link PRINCIPAL_TTL_MS}).
 * - 1013 (Try Again Later): the credential could not be checked (the auth service or its keys are unreachable).
 * 4403 is not used: another user's or organization's object answers a NOT_FOUND error on that one subscription, so
 * existence is not revealed and the socket's other subscriptions go on.
 */
export const WS_CLOSE = { UNAUTHORIZED: 4401, UPSTREAM_UNAVAILABLE: 1013 } as const;

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
export type WsConnection = { readonly signal: AbortSignal };

/** A running WebSocket endpoint; see {@link attachGraphQLWebSocket}. */
export type GraphQLWebSocket = {
  /** Closes every socket (code 1001), stops graphql-ws and the WebSocket server. */
  close(): Promise<void>;
};

type SocketState = { tenant: TenantContext; connection: WsConnection; stop(): void };

/**
 * Serves `schema`'s subscriptions with graphql-ws on `server` at `path`.
 * - `connection_init` must carry `{ authorization: "Bearer <credential>" }`, read by `authenticator` exactly like an
 *   HTTP request's `Authorization` header; no credential or a refused one closes the socket with 4401, a credential
 *   that cannot be checked now with 1013. The socket is closed with 4401 when the token expires, and when
 *   `authenticator.stillActive` answers false (checked every `recheckMs`, default {@link PRINCIPAL_TTL_MS}: a
 *   removed member's subscriptions end within 10 s); with 1013 when that check fails.
 * - Each subscription is prepared by {@link prepareSubscription} (bounds included); a refusal is an `error` message
 *   for that operation only.
 * - Each operation runs with `context(base, connection)`, where `base` is the same {@link RequestContext} an HTTP
 *   request gets (the socket's tenant, a fresh request id): the tenant comes from the credential alone.
 * - `subscribe` runs the prepared operation (default: graphql-js `subscribe` on `schema`).
 * - Errors leave through `formatError` (the service's Apollo hook: codes kept, internals masked).
 * - Frames are bounded like HTTP bodies ({@link MAX_BODY_BYTES}: a larger one closes the socket with 1009), and a
 *   socket runs at most {@link MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions at once (RATE_LIMITED beyond).
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
}): GraphQLWebSocket {
  const { authenticator, formatError, schema } = opts;
  const bounds = resolveBounds(opts.bounds);
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
    // Max setTimeout is 2^31-1 ms (~24.8 days); tokens live minutes.
    const ms = Math.min(Math.max(tenant.expiresAtMs - Date.now(), 0), 2 ** 31 - 1);
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
    return {
      tenant,
      connection: { signal: controller.signal },
      stop() {
        clearTimeout(expiry);
        clearInterval(recheck);
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
        const prepared = prepareSubscription(schema, payload, bounds);
        if (Array.isArray(prepared)) return prepared;
        return {
          schema,
          ...prepared,
          contextValue: opts.context({ tenant: state.tenant, requestId: randomUUID() }, state.connection),
        };
      },
      ...(opts.subscribe ? { subscribe: opts.subscribe } : {}),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) } : undefined,
      onError: (_ctx, _id, _payload, errors) => format(errors),
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
