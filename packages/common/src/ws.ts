/**
 * GraphQL subscriptions of a subgraph over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`), on the same
 * node:http server and path as its HTTP GraphQL, one implementation for every subgraph that has subscriptions.
 */
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { hasErrorCode } from './errors.ts';
import { MAX_BODY_BYTES } from './http.ts';
import { bearerToken, type RequestContext, type TenantContext, type TokenVerifier } from './tenancy.ts';

/**
 * WebSocket close codes of subgraph sockets (graphql-ws's own codes, e.g. 4400/4409/4429, keep their meaning):
 * 4401 no, bad or expired token (also sent when a connected token expires). 4403 is not used: another user's or
 * organization's object answers a NOT_FOUND error on that one subscription, so existence is not revealed and the
 * socket's other subscriptions go on.
 */
export const WS_CLOSE = { UNAUTHORIZED: 4401 } as const;

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

/** A running WebSocket endpoint; see {@link attachGraphQLWebSocket}. */
export type GraphQLWebSocket = {
  /** Closes every socket (code 1001), stops graphql-ws and the WebSocket server. */
  close(): Promise<void>;
};

/**
 * Serves `schema`'s subscriptions with graphql-ws on `server` at `path`.
 * - `connection_init` must carry `{ authorization: "Bearer <jwt>" }`, verified like an HTTP request's header; a
 *   missing or bad token closes the socket with 4401. The socket is closed with 4401 when the token expires.
 * - Each operation runs with `context(base)`, where `base` is the same {@link RequestContext} an HTTP request gets
 *   (the socket's verified tenant, a fresh request id): the tenant comes from the token alone, never from a message.
 * - Errors leave through `formatError` (the service's Apollo hook: codes kept, internals masked).
 * - Frames are bounded like HTTP bodies ({@link MAX_BODY_BYTES}; the ws default would accept 100 MiB), and a socket
 *   runs at most {@link MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions at once (RATE_LIMITED beyond).
 */
export function attachGraphQLWebSocket<C extends RequestContext>(opts: {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  verifier: TokenVerifier;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  context: (base: RequestContext) => C;
}): GraphQLWebSocket {
  const { verifier, formatError } = opts;
  const wss = new WebSocketServer({ server: opts.server, path: opts.path, maxPayload: MAX_BODY_BYTES });
  const tenants = new WeakMap<WebSocket, TenantContext>();
  const expiryTimers = new WeakMap<WebSocket, NodeJS.Timeout>();
  const format = (errors: readonly unknown[]) =>
    errors.map((e) => formatError((e as { toJSON?: () => GraphQLFormattedError }).toJSON?.() ?? (e as never), e));
  const disposable = useServer<{ authorization?: unknown }>(
    {
      schema: opts.schema,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const header = ctx.connectionParams?.authorization;
        let tenant: TenantContext;
        try {
          const token = typeof header === 'string' ? bearerToken(header) : undefined;
          if (!token) throw new Error('no token');
          tenant = await verifier.verify(token);
        } catch (e) {
          const reason = hasErrorCode(e) ? (e as Error).message : 'A valid access token is required.';
          socket.close(WS_CLOSE.UNAUTHORIZED, reason.slice(0, 120));
          return false;
        }
        tenants.set(socket, tenant);
        // Max setTimeout is 2^31-1 ms (~24.8 days); tokens live minutes.
        const ms = Math.min(Math.max(tenant.expiresAtMs - Date.now(), 0), 2 ** 31 - 1);
        expiryTimers.set(
          socket,
          setTimeout(() => socket.close(WS_CLOSE.UNAUTHORIZED, 'The access token has expired.'), ms),
        );
        return true;
      },
      onClose: (ctx) => clearTimeout(expiryTimers.get(ctx.extra.socket)),
      onSubscribe: (ctx) => subscriptionLimit(ctx),
      context: (ctx) => opts.context({ tenant: tenants.get(ctx.extra.socket) ?? null, requestId: randomUUID() }),
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
