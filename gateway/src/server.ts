import { ApolloServer } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
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
  type Authenticator,
  type CorsOrigins,
  type WsSendBounds,
  type RequestContext,
  PARSE_OPTIONS,
  injectTraceContext,
  apolloModeOptions,
  apolloModePlugins,
} from '@datapilot/common';
import type { GatewaySupergraph } from './compose.ts';
import { attachSubscriptionEdge } from './subscriptions.ts';
import {
  loadTrustedDocuments,
  SDK_MANIFEST_PATH,
  useTrustedDocuments,
  type TrustedDocuments,
} from './trusted-documents.ts';
import { SANDBOX_EXAMPLE } from './sandbox.ts';
import { createSubgraphFetcher } from './fetcher.ts';
import type { Fetcher } from '@apollo/utils.fetcher';

/**
 * How the gateway talks to a subgraph: forwards only the verified bearer token and the request id (and, with
 * tracing on, its own `traceparent`), and
 * turns transport failures into stable codes — an unreachable subgraph or a 5xx answer is
 * UPSTREAM_UNAVAILABLE; a non-2xx GraphQL answer keeps the subgraph's own code (e.g. UNAUTHENTICATED).
 */
class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: string,
    url: string | undefined,
    fetcher: Fetcher,
    private readonly logger?: Logger,
  ) {
    super({ url, fetcher });
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
    // With tracing on, the subgraph continues the trace under this fetch's `gateway.fetch` span (tracing.ts).
    if (request.http) injectTraceContext(request.http.headers);
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
    // An outage as the client sees it; the operator sees why (status, the transport error and its cause).
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    this.logger?.warn('subgraph request failed', {
      subgraph: this.subgraph,
      status: response?.status,
      error: error.message,
      cause: cause ? `${cause.code ?? ''} ${cause.message ?? ''}`.trim() : undefined,
    });
    throw new DataPilotError('UPSTREAM_UNAVAILABLE', `The ${this.subgraph} service is unavailable; try again.`);
  }
}

/**
 * The gateway's per-request context: the verified tenant (or null: anonymous, or a refused credential, which is then
 * not forwarded: the subgraphs see an anonymous request, and http.ts gives every UNAUTHENTICATED error the reason of
 * `credentialRefused`) and the request id.
 */
export type GatewayContext = RequestContext;

/** Options of {@link createGatewayServer}. */
export type GatewayOptions = {
  /**
   * The supergraph and where its subgraphs run: `supergraphFromSdl` over the committed `supergraph.graphql`
   * (main.ts), or `supergraphFromDefs` composing subgraphs in a test.
   */
  supergraph: GatewaySupergraph;
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
  /** Origins allowed to call from a browser (`CORS_ORIGINS`, cors.ts); default by mode (`defaultCorsOrigins`). */
  cors?: CorsOrigins;
  /**
   * What may wait to be sent on one subscription socket before it is closed with 4008 (`WS_MAX_PENDING_MESSAGES`,
   * `WS_MAX_BUFFERED_BYTES`; ws.ts `WsSendBounds`); a bound left out keeps its DEFAULT_WS_SEND_BOUNDS value.
   */
  sendBounds?: Partial<WsSendBounds>;
  /**
   * Which documents run (`GATEWAY_TRUSTED_DOCUMENTS`, trusted-documents.ts), over HTTP and WebSocket alike; default:
   * any document, and `documentId`s looked up in the SDK's manifest (sdk/persisted-documents.json).
   */
  trustedDocuments?: TrustedDocuments;
};

/**
 * Creates the Apollo Gateway over a composed supergraph (the committed `supergraph.graphql`, written by
 * `npm run compose`): the gateway runs no other service's code and composes nothing at start.
 *
 * Org guard, first place: the bearer token is verified here against the JWKS. A bad, expired or foreign token is
 * not forwarded: the request goes on as anonymous, so public fields (`login`, `refreshToken`, ...) answer, and every
 * other field answers UNAUTHENTICATED with the refusal's reason (HTTP 401 when nothing else answered; context.ts,
 * http.ts). Only a verified token and a request id are forwarded to subgraphs — nothing else the client sends — and
 * each subgraph verifies the token again. Subscriptions are served over graphql-ws on the same path (see
 * subscriptions.ts).
 * @returns `{ url, close }`, where url is the HTTP base (GraphQL at `${url}/graphql`, WebSocket at ws://…/graphql).
 */
export async function createGatewayServer(opts: GatewayOptions): Promise<{ url: string; close(): Promise<void> }> {
  const composition = opts.supergraph;
  const limits = opts.limits ?? {};
  const trusted =
    opts.trustedDocuments ?? (await loadTrustedDocuments({ manifestPath: SDK_MANIFEST_PATH, enforce: false }));
  const byName = new Map(composition.subgraphs.map((s) => [s.name, s]));
  // One keep-alive client for every subgraph request (fetcher.ts), instead of @apollo/gateway's make-fetch-happen.
  const client = createSubgraphFetcher();
  // One data source per subgraph, shared by queries and the subscription edge's fill (subscriptions.ts).
  const serviceMap: Record<string, SubgraphDataSource> = Object.fromEntries(
    composition.subgraphs.map((s) => [s.name, new SubgraphDataSource(s.name, s.url, client.fetcher, opts.logger)]),
  );
  // @apollo/gateway reports usage data to Apollo (an OpenTelemetry metrics exporter, and cloud-metadata probes at
  // start) unless APOLLO_TELEMETRY_DISABLED is set when it is constructed: a DataPilot gateway sends nothing out.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const gateway = new ApolloGateway({
    supergraphSdl: composition.supergraphSdl,
    // The endpoint configured for the subgraph's name, not the URL written in the supergraph.
    buildService: ({ name }) =>
      serviceMap[name] ?? new SubgraphDataSource(name, byName.get(name)?.url, client.fetcher, opts.logger),
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
    // Trusted documents first: the document to run is known before anything else looks at it.
    plugins: [
      useTrustedDocuments(trusted),
      useOperationBounds(limits),
      ...apolloModePlugins(undefined, SANDBOX_EXAMPLE),
    ],
    parseOptions: PARSE_OPTIONS,
  });
  await apollo.start();

  const server = createGraphQLHttpServer<GatewayContext>({
    apollo,
    edge: true,
    cors: opts.cors,
    context: (req, requestId) => contextFromRequest(opts.authenticator, req, requestId),
    // Ready when every subgraph is: each one's own `/ready`, next to its GraphQL URL.
    routes: healthRoutes(
      {
        ...opts.authenticator.dependencies,
        ...Object.fromEntries(
          composition.subgraphs.map((s) => [
            s.name,
            async () => {
              const res = await fetch(new URL('/ready', s.url), {
                signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS),
              });
              if (!res.ok) throw new Error(`${s.name} answered HTTP ${res.status}`);
            },
          ]),
        ),
      },
      opts.logger,
    ),
  });

  const stopWs = attachSubscriptionEdge({
    server,
    path: '/graphql',
    supergraphSdl: composition.supergraphSdl,
    serviceMap,
    wsUrlOf: (name) => byName.get(name)?.wsUrl,
    authenticator: opts.authenticator,
    logger: opts.logger,
    limits,
    sendBounds: opts.sendBounds,
    trustedDocuments: trusted,
  });

  const url = await listen(server, opts.port, opts.host);
  opts.logger.info('gateway listening', { url: `${url}/graphql`, subgraphs: composition.subgraphs.map((s) => s.name) });
  return {
    url,
    async close() {
      await stopWs();
      await closeServer(server);
      await apollo.stop();
      client.close();
    },
  };
}
