import type { Server } from 'node:http';
import { WebSocket } from 'ws';
import { createClient, type Client } from 'graphql-ws';
import {
  GraphQLError,
  Kind,
  print,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import {
  WS_CLOSE,
  attachGraphQLWebSocket,
  createFormatError,
  type Authenticator,
  type Logger,
  type OperationBounds,
  type RequestContext,
  type TenantContext,
  type WsConnection,
} from '@datapilot/common';

/** graphql-ws close codes of the gateway's sockets: those of every DataPilot socket (`WS_CLOSE` of @datapilot/common). */
export const CLOSE = WS_CLOSE;

/** What each relayed subscription runs with: the socket's tenant and its upstream connections. */
type EdgeContext = RequestContext & { upstream(url: string): Client };

/**
 * The gateway's subscription edge: `@apollo/gateway` cannot execute subscriptions, so this serves `graphql-ws` on the
 * gateway's HTTP server (same path as queries) with the implementation every DataPilot socket shares
 * (`attachGraphQLWebSocket` of @datapilot/common: credential in `connection_init` read by `authenticator`, 4401 on
 * a refused, expired or ended session, each subscription parsed, validated against the supergraph's API schema,
 * bounded and refused on its own with a code), and relays each subscription to the subgraph that owns its root field,
 * over graphql-ws, with the caller's token. One upstream connection per socket and subgraph; it ends with the socket.
 * The org is not checked from arguments: the subgraph re-verifies the forwarded token and scopes the subscription to
 * its org (another org's message answers NOT_FOUND).
 * @returns a function that closes every socket (1001) and stops the WebSocket server.
 */
export function attachSubscriptionEdge(opts: {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  /** Subscription root field → upstream graphql-ws URL. */
  upstreamFor: (field: string) => string | undefined;
  authenticator: Authenticator;
  logger: Logger;
  /** Bounds of each operation (default `DEFAULT_BOUNDS` of @datapilot/common). */
  limits?: Partial<OperationBounds>;
}): () => Promise<void> {
  const upstreams = new WeakMap<WsConnection, Map<string, Client>>();

  const upstreamOf = (connection: WsConnection, tenant: TenantContext, url: string): Client => {
    let clients = upstreams.get(connection);
    if (!clients) {
      const created = new Map<string, Client>();
      connection.signal.addEventListener('abort', () => {
        for (const c of created.values()) void c.dispose();
      });
      upstreams.set(connection, created);
      clients = created;
    }
    let c = clients.get(url);
    if (!c) {
      c = createClient({
        url,
        webSocketImpl: WebSocket,
        lazy: true,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${tenant.token}` },
      });
      clients.set(url, c);
    }
    return c;
  };

  const ws = attachGraphQLWebSocket<EdgeContext>({
    server: opts.server,
    path: opts.path,
    schema: opts.schema,
    authenticator: opts.authenticator,
    formatError: createFormatError((err) => opts.logger.error('unexpected subscription error', { err })),
    bounds: opts.limits,
    context: (base, connection) => ({ ...base, upstream: (url) => upstreamOf(connection, base.tenant!, url) }),
    subscribe: async (args) => relay(args),
  });

  async function* relay(args: ExecutionArgs): AsyncGenerator<ExecutionResult> {
    const ctx = args.contextValue as EdgeContext;
    const op = args.document.definitions.find(
      (d): d is OperationDefinitionNode =>
        d.kind === Kind.OPERATION_DEFINITION && (!args.operationName || d.name?.value === args.operationName),
    );
    const first = op ? rootFieldName(op.selectionSet, args.document) : undefined;
    const url = first ? opts.upstreamFor(first) : undefined;
    if (!url) {
      yield {
        errors: [new GraphQLError('No subgraph serves this subscription.', { extensions: { code: 'BAD_USER_INPUT' } })],
      };
      return;
    }
    const it = ctx.upstream(url).iterate({
      query: print(args.document),
      variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
      operationName: args.operationName ?? undefined,
    });
    try {
      for await (const result of it) yield { ...result, errors: result.errors?.map(revive) } as ExecutionResult;
    } catch (e) {
      if (Array.isArray(e)) {
        yield { errors: e.map(revive) };
      } else if ((e as { code?: unknown })?.code === WS_CLOSE.UNAUTHORIZED) {
        // The subgraph ended the session (expired token, removed member): the gateway's own check follows.
        yield {
          errors: [new GraphQLError('Your session has ended.', { extensions: { code: 'UNAUTHENTICATED' } })],
        };
      } else {
        opts.logger.warn('subscription upstream failed', { err: String((e as Error)?.message ?? e), url });
        yield {
          errors: [
            new GraphQLError('The service behind this subscription is unavailable; retry.', {
              extensions: { code: 'UPSTREAM_UNAVAILABLE' },
            }),
          ],
        };
      }
    } finally {
      await it.return?.(undefined);
    }
  }

  return () => ws.close();
}

/**
 * The name of the first field of a root selection set, looking through inline fragments and fragment spreads
 * (`subscription { ...F } fragment F on Subscription { pipelineRunEvents(...) { ... } }` names pipelineRunEvents).
 * A subscription has exactly one root field (GraphQL spec, "Single root field"), which validation already checked.
 */
function rootFieldName(set: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): string | undefined {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) return sel.name.value;
    if (sel.kind === Kind.INLINE_FRAGMENT) {
      const name = rootFieldName(sel.selectionSet, document, seen);
      if (name) return name;
    } else if (sel.kind === Kind.FRAGMENT_SPREAD && !seen.has(sel.name.value)) {
      seen.add(sel.name.value);
      const frag = document.definitions.find(
        (d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === sel.name.value,
      );
      const name = frag ? rootFieldName(frag.selectionSet, document, seen) : undefined;
      if (name) return name;
    }
  }
  return undefined;
}

/**
 * An upstream error as received over graphql-ws (a plain JSON object) back into a GraphQLError, which
 * graphql-ws serializes with `toJSON`; message, path and `extensions` (with its code) are kept.
 */
function revive(e: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(e.message, { path: e.path, extensions: e.extensions ?? {} });
}
