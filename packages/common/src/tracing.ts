/**
 * OpenTelemetry tracing of a DataPilot service: the gateway, each subgraph and the stores they call (PostgreSQL,
 * Spark Connect, Neo4j) export spans over OTLP/HTTP (JSON) when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, with the W3C `traceparent` header carried from the gateway to each
 * subgraph. Unset, nothing of OpenTelemetry is loaded and every helper here calls straight through.
 *
 * The OpenTelemetry API is loaded only by {@link startTracing} (dynamic imports), so the disabled path costs one
 * `undefined` check per helper call. Libraries that speak the API themselves (@apollo/gateway's `gateway.*` spans)
 * share the provider registered here, so their spans sit in the same trace under the request's server span.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';

type Api = typeof import('@opentelemetry/api');

/** The API and this package's tracer, once {@link startTracing} registered a provider; undefined: tracing is off. */
let otel: { api: Api; tracer: Tracer } | undefined;

/** Attribute names of the OpenTelemetry semantic conventions used here (HTTP server spans, database spans). */
const ATTR = {
  serviceName: 'service.name',
  httpMethod: 'http.request.method',
  httpStatus: 'http.response.status_code',
  urlPath: 'url.path',
  dbSystem: 'db.system',
  dbStatement: 'db.statement',
  graphqlOperationName: 'graphql.operation.name',
} as const;

/** What {@link startTracing} returns. */
export type Tracing = {
  /** True when spans are exported (an OTLP endpoint is set). */
  readonly enabled: boolean;
  /**
   * Flushes the spans still buffered (bounded by `OTEL_EXPORTER_OTLP_TIMEOUT`, default 10 s) and stops exporting.
   * Never rejects: a failed last export is a `warn` line.
   */
  shutdown(): Promise<void>;
};

/** Where {@link startTracing} says where spans go and reports exporter failures: a DataPilot `Logger` fits. */
export type TracingLog = {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
};

/**
 * Starts tracing for one service when the environment names an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, to
 * which the exporter appends `/v1/traces`, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as is) and
 * `OTEL_SDK_DISABLED` is not `true`: registers a Node tracer provider (AsyncLocalStorage context) with a batch span
 * processor and an OTLP/HTTP JSON exporter, the W3C trace-context propagator only (a client's `baggage` is not
 * forwarded), and the resource `service.name = datapilot-<service>` (`OTEL_SERVICE_NAME` is ignored; other
 * `OTEL_RESOURCE_ATTRIBUTES` are kept). The exporter, the batch processor and the sampler read their own standard
 * variables (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_TRACES_SAMPLER`, ...), as the
 * OpenTelemetry specification gives them. Otherwise it loads nothing and returns a disabled {@link Tracing}.
 * Call it first in an entry point (main.ts), before the service opens its PostgreSQL pool ({@link traceQueries}).
 * @param service the service's short name (`gateway`, `auth`, `chat`, `lake`, `graph`).
 * @param log gets one `info` line naming the endpoint, and exporter errors as `warn` lines (a collector that does
 *   not answer).
 * @param env where the endpoint variables are read (default `process.env`); the SDK reads its other standard
 *   variables from `process.env`.
 * @throws Error when the endpoint is not a URL, or when tracing was already started in this process.
 */
export async function startTracing(service: string, log?: TracingLog, env = process.env): Promise<Tracing> {
  const endpointVar = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'].find((n) => env[n]);
  if (!endpointVar || env.OTEL_SDK_DISABLED === 'true') return { enabled: false, shutdown: async () => undefined };
  if (otel) throw new Error('startTracing: tracing is already started in this process');
  const raw = env[endpointVar]!;
  if (!URL.canParse(raw))
    throw new Error(`${endpointVar}=${JSON.stringify(raw)} is not a URL (e.g. http://127.0.0.1:4318)`);
  // The specification's rule: the signal-specific variable is the URL itself; the general one gets `v1/traces` added.
  const url = endpointVar === 'OTEL_EXPORTER_OTLP_ENDPOINT' ? `${raw.replace(/\/*$/, '')}/v1/traces` : raw;
  const [
    api,
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    resources,
    { W3CTraceContextPropagator },
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
    .merge(resources.resourceFromAttributes({ [ATTR.serviceName]: `datapilot-${service}` }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  if (log) {
    log.info('exporting traces over OTLP/HTTP', { url, serviceName: `datapilot-${service}` });
    const warn = (msg: string, ...args: unknown[]) => log.warn(`OpenTelemetry: ${msg}`, args.length ? { args } : {});
    api.diag.setLogger(
      { error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} },
      api.DiagLogLevel.WARN,
    );
  }
  otel = { api, tracer: api.trace.getTracer('@datapilot/common') };
  return {
    enabled: true,
    // A collector that does not answer costs the export timeout, never the service's exit code.
    shutdown: () =>
      provider
        .shutdown()
        .catch((err: unknown) => log?.warn('OpenTelemetry: the last spans were not exported', { err })),
  };
}

/** True once {@link startTracing} registered a provider in this process. */
export function tracingEnabled(): boolean {
  return otel !== undefined;
}

/** Options of {@link withSpan}. */
export type WithSpanOptions = {
  /** The span's kind (default `internal`): `server` for a request received, `client` for a call to a store. */
  kind?: 'internal' | 'server' | 'client';
  /** The parent context (default: the active one), e.g. from {@link extractTraceContext}. */
  parent?: Context;
};

/**
 * Runs `fn` inside a new span named `name`, active for everything `fn` does (async work included), and ends the
 * span when `fn` settles: on a throw or a rejection it records the exception, sets the status ERROR with its
 * message and rethrows. `fn` receives the span (to add attributes), or undefined when tracing is off, in which
 * case `fn` is simply called.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => T | Promise<T>,
  opts: WithSpanOptions = {},
): Promise<T> {
  if (!otel) return fn(undefined);
  const { api, tracer } = otel;
  const kind = { internal: api.SpanKind.INTERNAL, server: api.SpanKind.SERVER, client: api.SpanKind.CLIENT }[
    opts.kind ?? 'internal'
  ];
  const parent = opts.parent ?? api.context.active();
  return tracer.startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (e) {
      failSpan(span, e);
      throw e;
    } finally {
      span.end();
    }
  });
}

/** Records `error` on `span` and sets its status to ERROR. */
function failSpan(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: otel!.api.SpanStatusCode.ERROR, message: err.message });
}

/** A store a service queries; the `db.system` value of its spans. */
export type StoreSystem = 'postgresql' | 'spark' | 'neo4j';

/**
 * The operation of a statement for its span name: its first keyword, upper-cased, after a Cypher
 * `CYPHER <options>` line (e.g. `SELECT`, `SET`, `MATCH`, `CALL`); `QUERY` when there is none.
 */
function statementOperation(statement: string): string {
  const body = statement.replace(/^\s*CYPHER\b[^\n]*\n/i, '');
  return /^\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)/.exec(body)?.[1]?.toUpperCase() ?? 'QUERY';
}

/**
 * A span for one statement sent to a store, started now as a child of the active span: named `<system>
 * <operation>` (e.g. `postgresql SELECT`), kind CLIENT, attributes `db.system` and `db.statement` (the statement
 * text; parameter values are never recorded: they may hold tenant data). Call `end()` once the statement settled,
 * with its error if it failed. Undefined when tracing is off or no span is active (readiness probes, background
 * loops, start-up migrations): a statement outside a traced request starts no trace of its own.
 */
export function startStatementSpan(system: StoreSystem, statement: string): { end(error?: unknown): void } | undefined {
  if (!otel) return undefined;
  const { api, tracer } = otel;
  const parent = api.context.active();
  if (!api.trace.getSpan(parent)) return undefined;
  const span = tracer.startSpan(
    `${system} ${statementOperation(statement)}`,
    { kind: api.SpanKind.CLIENT, attributes: { [ATTR.dbSystem]: system, [ATTR.dbStatement]: statement } },
    parent,
  );
  return {
    end(error) {
      if (error !== undefined && error !== null) failSpan(span, error);
      span.end();
    },
  };
}

/**
 * Runs `fn` (which sends `statement` to `system`) inside a {@link startStatementSpan} span; calls `fn` directly
 * when there is none.
 */
export async function traceStatement<T>(system: StoreSystem, statement: string, fn: () => Promise<T>): Promise<T> {
  const span = startStatementSpan(system, statement);
  if (!span) return fn();
  try {
    const out = await fn();
    span.end();
    return out;
  } catch (e) {
    span.end(e);
    throw e;
  }
}

/** A header reader: Node's `IncomingHttpHeaders` (lower-case names) fits. */
type HeaderRecord = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The trace context a request carries in its W3C `traceparent` (and `tracestate`) header, as a parent for
 * {@link withSpan}; without a valid header, the root context (the request starts a trace). Undefined when tracing
 * is off.
 */
export function extractTraceContext(headers: HeaderRecord): Context | undefined {
  if (!otel) return undefined;
  const { api } = otel;
  return api.propagation.extract(api.ROOT_CONTEXT, headers, {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => carrier[key.toLowerCase()],
  });
}

/**
 * Writes the active span's W3C `traceparent` (and `tracestate`) into `headers` (a fetch `Headers`, Apollo's
 * `HeaderMap`: anything with `set`), so that the service called continues the trace. Does nothing when tracing is
 * off or no span is active.
 */
export function injectTraceContext(headers: { set(name: string, value: string): unknown }): void {
  if (!otel) return;
  const { api } = otel;
  api.propagation.inject(api.context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
}

/** The active span's trace id (32 hex digits), or undefined when tracing is off or no span is active. */
export function currentTraceId(): string | undefined {
  return currentTraceFields()?.traceId;
}

/**
 * `{ traceId, spanId }` of the active span (hex, as exported), for log lines; undefined when tracing is off or no
 * span is active.
 */
export function currentTraceFields(): { traceId: string; spanId: string } | undefined {
  if (!otel) return undefined;
  const span = otel.api.trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

/**
 * Sets `graphql.operation.name` on the active span (a request's server span) from a GraphQL request body's
 * `operationName`, when it is a string. Does nothing when tracing is off or no span is active.
 */
export function annotateGraphQLRequest(body: unknown): void {
  const name = (body as { operationName?: unknown } | null | undefined)?.operationName;
  if (typeof name === 'string' && name) otel?.api.trace.getActiveSpan()?.setAttribute(ATTR.graphqlOperationName, name);
}

/**
 * Makes each request of `server` whose path `traced(path)` accepts run inside a SERVER span named `<method> <path>`
 * (e.g. `POST /graphql`), child of the trace its `traceparent` header names (a new trace without one), with
 * `http.request.method`, `url.path` and, when the response closes, `http.response.status_code` (status ERROR from
 * 500 on, or when the connection closed before the response ended). The span is active for the whole handling, so
 * what the handler does (Apollo's `gateway.*` spans, store statements, log lines) belongs to it. Other requests
 * (health checks, JWKS, CORS preflights) are not traced, nor is anything while tracing is off. Moves the server's
 * `request` listeners behind one traced listener; add none after this call.
 * @returns `server`.
 */
export function withServerSpans(server: Server, traced: (path: string) => boolean): Server {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    for (const h of handlers) h(req, res);
  };
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!otel || req.method === 'OPTIONS') return handle(req, res);
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!traced(path)) return handle(req, res);
    const { api, tracer } = otel;
    const method = req.method ?? 'GET';
    const parent = extractTraceContext(req.headers)!;
    const span = tracer.startSpan(
      `${method} ${path}`,
      { kind: api.SpanKind.SERVER, attributes: { [ATTR.httpMethod]: method, [ATTR.urlPath]: path } },
      parent,
    );
    res.once('close', () => {
      span.setAttribute(ATTR.httpStatus, res.statusCode);
      if (res.statusCode >= 500 || !res.writableFinished)
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: `HTTP ${res.statusCode}` });
      span.end();
    });
    api.context.with(api.trace.setSpan(parent, span), () => handle(req, res));
  });
  return server;
}
