import type { Server } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { createClient, type Client } from 'graphql-ws';
import {
  GraphQLError,
  Kind,
  getOperationAST,
  parse,
  print,
  validate,
  getVariableValues,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { measureOperation, type OperationLimits } from './limits.ts';
import {
  MAX_BODY_BYTES,
  hasErrorCode,
  subscriptionLimit,
  type Logger,
  type TenantContext,
  type TokenVerifier,
} from '@datapilot/common';

/**
 * graphql-ws close codes used by the gateway (graphql-ws PROTOCOL.md reserves 4400-4499 for the
 * protocol; 4401 and 4403 carry its meanings).
 */
export const CLOSE = {
  /** No token, a bad token, or the token expired during the connection. */
  UNAUTHORIZED: 4401,
  /** The upstream subgraph is unreachable. */
  UPSTREAM_UNAVAILABLE: 1013,
} as const;

type SocketState = { tenant: TenantContext; upstream: Map<string, Client>; expiry: NodeJS.Timeout };

/**
 * The gateway's subscription edge: `@apollo/gateway` cannot execute subscriptions, so this serves
 * `graphql-ws` on the gateway's HTTP server (same path as queries) and relays each subscription to
 * the subgraph that owns its root field, over graphql-ws, with the caller's token.
 *
 * - `connection_init` must carry `{ authorization: "Bearer <jwt>" }`; the token is verified against
 *   the JWKS like any HTTP request; a missing or bad token closes the socket with 4401.
 * - The socket is closed with 4401 when the token's `exp` passes.
 * - Operations are validated against the supergraph's API schema; only subscriptions are accepted
 *   here (queries and mutations go over HTTP); the selection must be resolvable by the owning subgraph.
 * - The org is not checked from arguments: the subgraph re-verifies the forwarded token and scopes the
 *   subscription to its org (another org's message answers NOT_FOUND).
 * @returns a function that stops the WebSocket server and every upstream connection.
 */
export function attachSubscriptionEdge(opts: {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  /** Subscription root field → upstream graphql-ws URL. */
  upstreamFor: (field: string) => string | undefined;
  verifier: TokenVerifier;
  logger: Logger;
  limits: OperationLimits;
}): () => Promise<void> {
  // Frames are bounded like HTTP bodies (the ws default would accept 100 MiB).
  const wss = new WebSocketServer({ server: opts.server, path: opts.path, maxPayload: MAX_BODY_BYTES });
  const state = new WeakMap<object, SocketState>();

  const upstreamClient = (s: SocketState, url: string): Client => {
    let c = s.upstream.get(url);
    if (!c) {
      c = createClient({
        url,
        webSocketImpl: WebSocket,
        lazy: true,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${s.tenant.token}` },
      });
      s.upstream.set(url, c);
    }
    return c;
  };

  const disposable = useServer<{ authorization?: string }>(
    {
      schema: opts.schema,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const raw = ctx.connectionParams?.authorization ?? '';
        const m = /^Bearer\s+(\S+)$/i.exec(typeof raw === 'string' ? raw : '');
        try {
          if (!m) throw new GraphQLError('connection_init must carry { authorization: "Bearer <token>" }.');
          const tenant = await opts.verifier.verify(m[1]!);
          const ms = Math.max(0, tenant.expiresAtMs - Date.now());
          const expiry = setTimeout(() => socket.close(CLOSE.UNAUTHORIZED, 'Token expired'), Math.min(ms, 2 ** 31 - 1));
          state.set(socket, { tenant, upstream: new Map(), expiry });
          return true;
        } catch (e) {
          const reason = hasErrorCode(e) || e instanceof GraphQLError ? (e as Error).message : 'Unauthorized';
          socket.close(CLOSE.UNAUTHORIZED, reason.slice(0, 120));
          return false;
        }
      },
      onClose: (ctx) => {
        const s = state.get(ctx.extra.socket);
        if (!s) return;
        clearTimeout(s.expiry);
        for (const c of s.upstream.values()) void c.dispose();
      },
      onSubscribe: (ctx, _id, payload) => {
        const limited = subscriptionLimit(ctx);
        if (limited) return limited;
        // Parse, validate against the API schema and bound the operation here, so every refusal carries a code.
        let document;
        try {
          document = parse(payload.query, { maxTokens: 20_000 });
        } catch (e) {
          return [coded(e as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
        }
        const invalid = validate(opts.schema, document);
        if (invalid.length) return invalid.map((e) => coded(e, 'GRAPHQL_VALIDATION_FAILED'));
        const op = getOperationAST(document, payload.operationName);
        const refuse = (message: string) => [new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } })];
        if (!op) return refuse('The document has several operations (or not the one named): send operationName.');
        if (op.operation !== 'subscription')
          return refuse('Only subscriptions are served over WebSocket; send queries and mutations over HTTP.');
        const coerced = getVariableValues(opts.schema, op.variableDefinitions ?? [], payload.variables ?? {});
        if (coerced.errors) return coerced.errors.map((e) => coded(e, 'BAD_USER_INPUT'));
        const fragments = new Map(
          document.definitions.flatMap((d) =>
            d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [],
          ),
        );
        const { depth, fields } = measureOperation(op, fragments);
        if (depth > opts.limits.maxDepth || fields > opts.limits.maxFields)
          return refuse(
            `The operation exceeds the limits (depth ${opts.limits.maxDepth}, ${opts.limits.maxFields} fields).`,
          );
        return {
          schema: opts.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: { socketState: state.get(ctx.extra.socket) },
        };
      },
      subscribe: (args: ExecutionArgs) => relay(args),
    },
    wss,
  );

  async function* relay(args: ExecutionArgs): AsyncGenerator<ExecutionResult> {
    const s = (args.contextValue as { socketState?: SocketState }).socketState;
    if (!s) {
      yield { errors: [new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } })] };
      return;
    }
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
    const it = upstreamClient(s, url).iterate({
      query: print(args.document),
      variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
      operationName: args.operationName ?? undefined,
    });
    try {
      for await (const result of it) yield { ...result, errors: result.errors?.map(revive) } as ExecutionResult;
    } catch (e) {
      if (Array.isArray(e)) {
        yield { errors: e.map(revive) };
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

  return async () => {
    await disposable.dispose();
    await new Promise<void>((r) => wss.close(() => r()));
  };
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

/** A parse or validation error with the code Apollo Server gives the same error over HTTP. */
function coded(e: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    extensions: { code },
  });
}
