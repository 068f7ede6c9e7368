import { ApolloServer } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import {
  useOperationBounds,
  type OperationBounds,
  healthRoutes,
  READY_CHECK_TIMEOUT_MS,
  DataPilotError,
  ERROR_HTTP_STATUS,
  type ErrorCode,
  closeServer,
  contextFromRequest,
  currentClient,
  createFormatError,
  createGraphQLHttpServer,
  listen,
  type Logger,
  type TenantContext,
  type Authenticator,
  PARSE_OPTIONS,
  apolloModeOptions,
  apolloModePlugins,
} from '@datapilot/common';
import { composeSupergraph, type SubgraphDef } from './compose.ts';
import { attachSubscriptionEdge } from './subscriptions.ts';

/**
 * How the gateway talks to a subgraph: forwards only the verified bearer token and the request id, and
 * turns transport failures into stable codes — an unreachable subgraph or a 5xx answer is
 * UPSTREAM_UNAVAILABLE; a non-2xx GraphQL answer keeps the subgraph's own code (e.g. UNAUTHENTICATED).
 */
class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: string,
    url: string | undefined,
  ) {
    super({ url });
  }

  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]) {
    if (context.tenant) request.http?.headers.set('authorization', `Bearer ${context.tenant.token}`);
    if (context.requestId) request.http?.headers.set('x-request-id', context.requestId);
    // The client as the gateway saw it (the edge: a client's own X-Forwarded-For is not trusted), for the audit log.
    const client = currentClient();
    if (client?.address) request.http?.headers.set('x-forwarded-for', client.address);
    if (client?.userAgent) request.http?.headers.set('user-agent', client.userAgent);
  }

  override didEncounterError(error: Error, _req: unknown, response?: { status: number }): void {
    const body = (
      error as {
        extensions?: { response?: { body?: { errors?: { message?: string; extensions?: { code?: string } }[] } } };
      }
    ).extensions?.response?.body;
    const first = typeof body === 'object' ? body?.errors?.[0] : undefined;
    const code = first?.extensions?.code;
    if (response && response.status < 500 && first && typeof code === 'string') {
      if (code in ERROR_HTTP_STATUS) throw new DataPilotError(code as ErrorCode, first.message ?? 'Request failed.');
      // The subgraph refused the document (e.g. a literal its scalar rejects): a client error, not an outage.
      if (code.startsWith('GRAPHQL_') || code === 'BAD_REQUEST')
        throw new GraphQLError(first.message ?? 'Invalid request.', { extensions: { code } });
    }
    throw new DataPilotError('UPSTREAM_UNAVAILABLE', `The ${this.subgraph} service is unavailable; try again.`);
  }
}

/** The gateway's per-request context: the verified tenant (or null for anonymous) and the request id. */
export type GatewayContext = { tenant: TenantContext | null; requestId: string };

/** Options of {@link createGatewayServer}. */
export type GatewayOptions = {
  subgraphs: readonly SubgraphDef[];
  /**
   * Turns credentials into tenants with their current role: createServiceAuthenticator over the auth subgraph's JWKS
   * and principal check, wrapped by withApiKeys (api-keys.ts) so that API keys work as bearer credentials.
   */
  authenticator: Authenticator;
  /** Port to listen on (0 = a free port). */
  port: number;
  /** Interface to bind (default 127.0.0.1; a container binds 0.0.0.0). */
  host?: string;
  logger: Logger;
  /** Bounds of one operation (bounds.ts); a bound left out keeps its DEFAULT_BOUNDS value. */
  limits?: Partial<OperationBounds>;
};

/**
 * Creates the Apollo Gateway over a supergraph composed at start from the subgraphs' SDL
 * (refuses to start on a composition error: {@link composeSupergraph} throws).
 *
 * Org guard, first place: the bearer token is verified here against the JWKS; a bad, expired or
 * foreign token answers UNAUTHENTICATED (HTTP 401) before planning. Only the `Authorization` header and a
 * request id are forwarded to subgraphs — nothing else the client sends — and each subgraph verifies
 * the token again. Subscriptions are served over graphql-ws on the same path (see subscriptions.ts).
 * @returns `{ url, close }`, where url is the HTTP base (GraphQL at `${url}/graphql`, WebSocket at ws://…/graphql).
 */
export async function createGatewayServer(opts: GatewayOptions): Promise<{ url: string; close(): Promise<void> }> {
  const composition = composeSupergraph(opts.subgraphs);
  const limits = opts.limits ?? {};
  const byName = new Map(opts.subgraphs.map((s) => [s.name, s]));
  const gateway = new ApolloGateway({
    supergraphSdl: composition.supergraphSdl,
    buildService: ({ name, url }) => new SubgraphDataSource(name, url),
  });

  const apollo = new ApolloServer<GatewayContext>({
    // The gateway interface types of @apollo/gateway 2.x and @apollo/server 5 differ in name only.
    gateway: gateway as never,
    formatError: createFormatError((err) => opts.logger.error('unexpected error', { err })),
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown (onShutdown); Apollo's own signal handler would race it.
    stopOnTerminationSignals: false,
    ...apolloModeOptions(),
    // Automatic persisted queries would share one cache across tenants and need a retry dance; off.
    persistedQueries: false,
    // The bounds of every DataPilot GraphQL endpoint (bounds.ts), checked before the gateway plans.
    plugins: [useOperationBounds(limits), ...apolloModePlugins()],
    parseOptions: PARSE_OPTIONS,
  });
  await apollo.start();

  const server = createGraphQLHttpServer<GatewayContext>({
    apollo,
    edge: true,
    context: (req, requestId) => contextFromRequest(opts.authenticator, req, requestId),
    // Ready when every subgraph is: each one's own `/ready`, next to its GraphQL URL.
    routes: healthRoutes(
      Object.fromEntries(
        opts.subgraphs.map((s) => [
          s.name,
          async () => {
            const res = await fetch(new URL('/ready', s.url), { signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) });
            if (!res.ok) throw new Error(`${s.name} answered HTTP ${res.status}`);
          },
        ]),
      ),
      opts.logger,
    ),
  });

  const apiSchema = Supergraph.build(composition.supergraphSdl).apiSchema().toGraphQLJSSchema();
  const stopWs = attachSubscriptionEdge({
    server,
    path: '/graphql',
    schema: apiSchema,
    upstreamFor: (field) => {
      const owner = composition.subscriptionOwners.get(field);
      return owner ? byName.get(owner)?.wsUrl : undefined;
    },
    authenticator: opts.authenticator,
    logger: opts.logger,
    limits,
  });

  const url = await listen(server, opts.port, opts.host);
  opts.logger.info('gateway listening', { url: `${url}/graphql`, subgraphs: opts.subgraphs.map((s) => s.name) });
  return {
    url,
    async close() {
      await stopWs();
      await closeServer(server);
      await apollo.stop();
    },
  };
}
