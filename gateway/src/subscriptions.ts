import type { Server } from 'node:http';
import { WebSocket } from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { GraphQLError, type ExecutionArgs, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { buildOperationContext, executeQueryPlan, type ServiceMap } from '@apollo/gateway';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type QueryPlan, type SubscriptionNode } from '@apollo/query-planner';
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
  type WsSendBounds,
} from '@datapilot/common';
import type { TrustedDocuments } from './trusted-documents.ts';

/** graphql-ws close codes of the gateway's sockets: those of every DataPilot socket (`WS_CLOSE` of @datapilot/common). */
export const CLOSE = WS_CLOSE;

/** The operation as `executeQueryPlan` takes it (not exported by name by @apollo/gateway). */
type OperationContext = ReturnType<typeof buildOperationContext>;

/** What each relayed subscription runs with: the socket's tenant, its upstream connections and its send queues. */
type EdgeContext = RequestContext & { upstream(url: string): Client; connection: WsConnection };

/**
 * The gateway's subscription edge: `@apollo/gateway` cannot execute subscriptions, so this serves `graphql-ws` on the
 * gateway's HTTP server (same path as queries) with the implementation every DataPilot socket shares
 * (`attachGraphQLWebSocket` of @datapilot/common: credential in `connection_init` read by `authenticator`, 4401 on
 * a refused, expired or ended session, each subscription parsed, validated against the supergraph's API schema,
 * bounded and refused on its own with a code; what waits for a slow client bounded, 4008 beyond).
 *
 * Each subscription is planned by Apollo's query planner over the supergraph (as Apollo Router does): the plan's
 * primary fetch — the part the subgraph owning the root field answers — is subscribed to upstream over graphql-ws
 * with the caller's token (one upstream connection per socket and subgraph; it ends with the socket). Each event
 * then runs through the rest of the plan, which fetches the fields other subgraphs own (`message { author { email }
 * }` from auth) with `executeQueryPlan` and the gateway's own data sources (`serviceMap`): the query path of the
 * gateway, so each fetch carries the subscriber's token and meets the same guard in the subgraph, batched per event
 * like a query. An event the subgraph answered with errors and no data is passed on as it is.
 * The org is not checked from arguments: every subgraph re-verifies the forwarded token and scopes to its org
 * (another org's message answers NOT_FOUND; another org's user resolves to null).
 * @returns a function that closes every socket (1001) and stops the WebSocket server.
 */
export function attachSubscriptionEdge(opts: {
  server: Server;
  path: string;
  /** The supergraph the gateway runs (its SDL): the API schema subscriptions are validated against, and planned on. */
  supergraphSdl: string;
  /** The gateway's data sources by subgraph name (those its queries use: the same token forwarding and errors). */
  serviceMap: ServiceMap;
  /** Subgraph name → its graphql-ws URL; undefined when it serves no subscription. */
  wsUrlOf: (subgraph: string) => string | undefined;
  authenticator: Authenticator;
  logger: Logger;
  /** Bounds of each operation (default `DEFAULT_BOUNDS` of @datapilot/common). */
  limits?: Partial<OperationBounds>;
  /** What may wait to be sent on one socket (default `DEFAULT_WS_SEND_BOUNDS`; beyond: closed with 4008). */
  sendBounds?: Partial<WsSendBounds>;
  /** Which documents run (trusted-documents.ts): `documentId`s resolved, untrusted texts refused; default any text. */
  trustedDocuments?: TrustedDocuments;
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

  const supergraph = Supergraph.build(opts.supergraphSdl);
  const apiSchema = supergraph.apiSchema();
  const apiGraphQLSchema = apiSchema.toGraphQLJSSchema();
  const supergraphSchema = supergraph.schema.toGraphQLJSSchema();
  const planner = new QueryPlanner(supergraph);

  const ws = attachGraphQLWebSocket<EdgeContext>({
    server: opts.server,
    path: opts.path,
    schema: apiGraphQLSchema,
    authenticator: opts.authenticator,
    formatError: createFormatError((err) => opts.logger.error('unexpected subscription error', { err })),
    bounds: opts.limits,
    sendBounds: opts.sendBounds,
    resolveDocument: opts.trustedDocuments && ((payload) => opts.trustedDocuments!.resolve(payload)),
    context: (base, connection) => ({
      ...base,
      connection,
      upstream: (url) => upstreamOf(connection, base.tenant!, url),
    }),
    subscribe: async (args) => relay(args),
  });

  /** The plan of a validated subscription: a primary fetch (the upstream subscription), and what the rest needs. */
  function plan(args: ExecutionArgs): { node: SubscriptionNode; context: OperationContext } {
    const operationName = args.operationName ?? undefined;
    const operation = operationFromDocument(apiSchema, args.document, { operationName });
    const planned = planner.buildQueryPlan(operation);
    if (planned.node?.kind !== 'Subscription') throw new Error(`a subscription planned as ${planned.node?.kind}`);
    const context = buildOperationContext({
      schema: apiGraphQLSchema,
      operationDocument: args.document,
      operationName,
    });
    return { node: planned.node, context };
  }

  /**
   * One upstream event through the whole plan: the primary fetch is answered with the event (once; every other
   * fetch, including later ones to the same subgraph, goes to the real data source), the rest fetches the foreign
   * fields, and the response is shaped to the client's selection (aliases, fragments, `__typename`).
   */
  function fill(
    event: ExecutionResult,
    planned: { node: SubscriptionNode; context: OperationContext },
    args: ExecutionArgs,
    ctx: EdgeContext,
  ) {
    const { primary, rest } = planned.node;
    const real = opts.serviceMap[primary.serviceName]!;
    let answered = false;
    const serviceMap: ServiceMap = {
      ...opts.serviceMap,
      [primary.serviceName]: {
        process(options) {
          if (answered || options.request.query !== primary.operation) return real.process(options);
          answered = true;
          return Promise.resolve({ data: event.data, errors: event.errors as never });
        },
      },
    };
    const queryPlan: QueryPlan = {
      kind: 'QueryPlan',
      node: rest ? { kind: 'Sequence', nodes: [primary, rest] } : primary,
    };
    // What executeQueryPlan and the data sources read of a request context (executeQueryPlan.js): the variables,
    // the context handed to willSendRequest (tenant, request id), a logger and a metrics object.
    const requestContext = {
      request: { variables: args.variableValues ?? {}, operationName: args.operationName ?? undefined },
      context: { tenant: ctx.tenant, requestId: ctx.requestId },
      logger: {
        debug() {},
        info() {},
        warn: (m: unknown) => opts.logger.warn(String(m)),
        error: (m: unknown) => opts.logger.error(String(m)),
      },
      metrics: {},
    };
    return executeQueryPlan(
      queryPlan,
      serviceMap,
      requestContext as never,
      planned.context,
      supergraphSchema,
      apiSchema,
    ) as Promise<ExecutionResult>;
  }

  async function* relay(args: ExecutionArgs): AsyncGenerator<ExecutionResult> {
    const ctx = args.contextValue as EdgeContext;
    let planned: { node: SubscriptionNode; context: OperationContext };
    try {
      planned = plan(args);
    } catch (err) {
      opts.logger.error('subscription could not be planned', { err });
      yield { errors: [new GraphQLError('Internal server error.', { extensions: { code: 'INTERNAL' } })] };
      return;
    }
    const primary: FetchNode = planned.node.primary;
    const url = opts.wsUrlOf(primary.serviceName);
    if (!url) {
      yield {
        errors: [new GraphQLError('No subgraph serves this subscription.', { extensions: { code: 'BAD_USER_INPUT' } })],
      };
      return;
    }
    const variables = args.variableValues ?? {};
    // The upstream socket delivers every event whether this client reads or not: they wait in a send queue bounded
    // per socket (ws.ts; beyond, the client is closed with 4008 and the upstream subscription completed). Each is
    // filled when graphql-ws takes it, at the client's pace.
    let stopped = false;
    let unsubscribe = () => {};
    const queue = ctx.connection.sendQueue<ExecutionResult>(() => {
      stopped = true;
      unsubscribe();
    });
    if (!stopped)
      unsubscribe = ctx.upstream(url).subscribe(
        {
          query: primary.operation,
          variables: Object.fromEntries((primary.variableUsages ?? []).map((v) => [v, variables[v]])),
          operationName: primary.operationName,
        },
        {
          next: (result) => queue.push(result as ExecutionResult),
          error: (e) => queue.end(e ?? new Error('upstream error')),
          complete: () => queue.end(),
        },
      );
    try {
      for await (const event of queue.iterator) {
        if (event.data == null) {
          yield { errors: (event.errors as GraphQLFormattedError[] | undefined)?.map(revive) ?? [] };
          continue;
        }
        let filled: ExecutionResult;
        try {
          filled = await fill(event, planned, args, ctx);
        } catch (err) {
          opts.logger.error('subscription event could not be filled', { err });
          filled = { errors: [new GraphQLError('Internal server error.', { extensions: { code: 'INTERNAL' } })] };
        }
        yield filled;
      }
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
      await queue.iterator.return?.();
    }
  }

  return () => ws.close();
}

/**
 * An upstream error as received over graphql-ws (a plain JSON object) back into a GraphQLError, which
 * graphql-ws serializes with `toJSON`; message, path and `extensions` (with its code) are kept.
 */
function revive(e: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(e.message, { path: e.path, extensions: e.extensions ?? {} });
}
