import type { Server } from 'node:http';
import { WebSocket } from 'ws';
import { createClient, type Client } from 'graphql-ws';
import {
  GraphQLError,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import { buildOperationContext, executeQueryPlan, type ServiceMap } from '@apollo/gateway';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type QueryPlan, type SubscriptionNode } from '@apollo/query-planner';
import {
  SHARED_CONNECTION_PARAMS,
  WS_CLOSE,
  attachGraphQLWebSocket,
  createFormatError,
  type Authenticator,
  type Logger,
  type OperationBounds,
  type RequestContext,
  type ResultStream,
  type SerializedResult,
  type WsConnection,
  type WsSendBounds,
  type GraphQLWebSocket,
} from '@datapilot/common';
import type { TrustedDocuments } from './trusted-documents.ts';

/** graphql-ws close codes of the gateway's sockets: those of every DataPilot socket (`WS_CLOSE` of @datapilot/common). */
export const CLOSE = WS_CLOSE;

/** The operation as `executeQueryPlan` takes it (not exported by name by @apollo/gateway). */
type OperationContext = ReturnType<typeof buildOperationContext>;

/** What each relayed subscription runs with: the socket's tenant and the operation's connection. */
type EdgeContext = RequestContext & { connection: WsConnection };

/** A planned subscription: its primary fetch (the upstream subscription) and what the rest of the plan needs. */
type Planned = { node: SubscriptionNode; context: OperationContext };

/**
 * Most events one shared upstream subscription keeps to replay to subscribers that join it late; past it the group
 * stops taking new subscribers (a later one starts a group of its own, whose upstream subscription starts with the
 * subgraph's snapshot of the stored message).
 */
export const MAX_GROUP_HISTORY = 500;
/** Subscribers handed one result per turn of the event loop (see `deliver`). */
export const FANOUT_CHUNK = 256;
/** Most attempts to (re)subscribe one upstream subscription that has delivered nothing yet, before giving up. */
export const MAX_UPSTREAM_ATTEMPTS = 6;
/** Most planned documents kept (planning is the costly part of a new subscription); the oldest goes first. */
const PLAN_CACHE_MAX = 1_000;

/**
 * Delay before upstream attempt `attempt` (1-based retries), in milliseconds: 250 ms doubled each time, at most 5 s,
 * plus up to 25 % jitter so that the subscriptions of a lost socket do not come back in one burst.
 */
export function upstreamBackoffMs(attempt: number): number {
  const base = Math.min(250 * 2 ** Math.max(0, attempt - 1), 5_000);
  return Math.round(base * (1 + Math.random() * 0.25));
}

/**
 * A failure as graphql-ws hands it (a close event `{code, reason}`, an Error, GraphQL errors, anything) as a log
 * line: `close 1006 (reason)`, the message, or the messages joined — never `[object Object]`.
 */
export function describeUpstreamFailure(e: unknown): string {
  if (Array.isArray(e)) return e.map((x) => (x as { message?: unknown })?.message ?? String(x)).join('; ');
  if (e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'number')
    return `close ${(e as { code: number }).code}${(e as { reason?: string }).reason ? ` (${(e as { reason: string }).reason})` : ''}`;
  if (e instanceof Error) return e.message || e.name;
  if (e && typeof e === 'object' && typeof (e as { type?: unknown }).type === 'string')
    return `socket ${(e as { type: string }).type}${(e as { message?: string }).message ? `: ${(e as { message: string }).message}` : ''}`;
  return String(e);
}

/** One subscriber of a {@link Group}: the result stream of its operation on its own socket. */
type Subscriber = { stream: ResultStream };

/**
 * Subscribers of the same subscription — same subgraph URL, same document, operation name and variables, same
 * credential (token) — served by ONE upstream subscription: each upstream event is filled through the plan once,
 * serialized once, and written to every subscriber's socket. The results delivered so far are kept (up to
 * {@link MAX_GROUP_HISTORY}) and replayed to a subscriber that joins late, so that it receives exactly what the first
 * one did.
 */
type Group = {
  key: string;
  subscribers: Set<Subscriber>;
  history: SerializedResult[];
  /** Whether a new subscriber may join (false past the history bound, or once the group ended). */
  joinable: boolean;
  /** Upstream events received on the current upstream subscription. */
  received: number;
  /** Upstream (re)subscribe attempts so far. */
  attempts: number;
  /** Whether the group is over: every subscriber's stream ended. */
  ended: boolean;
  /** Results are filled and delivered one after the other, in upstream order. */
  chain: Promise<void>;
  /** Ends the upstream subscription (or a pending retry). */
  stop(): void;
  /** One upstream event: filled through the plan, then delivered. */
  onEvent(event: ExecutionResult): Promise<void>;
};

/**
 * The gateway's subscription edge: `@apollo/gateway` cannot execute subscriptions, so this serves `graphql-ws` on the
 * gateway's HTTP server (same path as queries) with the implementation every DataPilot socket shares
 * (`attachGraphQLWebSocket` of @datapilot/common: credential in `connection_init` read by `authenticator`, 4401 on
 * a refused, expired or ended session, each subscription parsed, validated against the supergraph's API schema,
 * bounded and refused on its own with a code; what waits for a slow client bounded, 4008 beyond).
 *
 * Each subscription is planned by Apollo's query planner over the supergraph (as Apollo Router does; plans cached by
 * document): the plan's primary fetch — the part the subgraph owning the root field answers — is subscribed to
 * upstream, and each event runs through the rest of the plan, which fetches the fields other subgraphs own
 * (`message { author { email } }` from auth) with `executeQueryPlan` and the gateway's own data sources
 * (`serviceMap`, the query path: each fetch carries the subscriber's token and meets the same guard in the subgraph).
 *
 * Upstream sockets are shared (issue 9): ONE graphql-ws socket per subgraph URL, opened as a shared socket
 * (`SHARED_CONNECTION_PARAMS`: no credential for the socket), each operation carrying its subscriber's token in the
 * subscribe message's `extensions.authorization` — verified by the subgraph for that operation like a socket's
 * credential, the tenant coming from it alone (another org's message answers NOT_FOUND; an expired token or ended
 * session ends that operation with UNAUTHENTICATED). Subscribers with the same token, document, operation name and
 * variables share one upstream subscription ({@link Group}): its events are filled once and fanned out, and a late
 * subscriber first receives what the group delivered so far. The upstream cost thus grows with the distinct
 * subscriptions (messages being answered × credentials), not with the subscribers.
 *
 * Upstream failures: each close is logged with its code and reason. A subscription whose socket was lost (or never
 * acknowledged) before it delivered anything is subscribed again on a new socket, after {@link upstreamBackoffMs}, up
 * to {@link MAX_UPSTREAM_ATTEMPTS} times; one that had delivered events (a resubscription could repeat or skip some)
 * or ran out of attempts ends for its subscribers with one UPSTREAM_UNAVAILABLE error — the client resubscribes
 * (`messageEvents(afterSequence:)` resumes without loss).
 * @returns a function that closes every socket (1001), the upstream sockets, and stops the WebSocket server.
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
  /**
   * graphql-ws client options of the upstream sockets, in milliseconds: how long to wait for `connection_ack`
   * (default 10 s) and how long an idle upstream socket stays open (default 30 s).
   */
  upstreamOptions?: { connectionAckWaitTimeout?: number; lazyCloseTimeout?: number };
}): () => Promise<void> {
  const supergraph = Supergraph.build(opts.supergraphSdl);
  const apiSchema = supergraph.apiSchema();
  const apiGraphQLSchema = apiSchema.toGraphQLJSSchema();
  const supergraphSchema = supergraph.schema.toGraphQLJSSchema();
  const planner = new QueryPlanner(supergraph);
  const plans = new Map<string, Planned>();
  const printed = new WeakMap<DocumentNode, string>();
  /** The joinable group of each key (retired groups live on through their subscribers only). */
  const groups = new Map<string, Group>();
  /** The current shared socket of each upstream URL (dropped once lost: the next subscription opens a new one). */
  const upstreams = new Map<string, Client>();
  let closing = false;

  /** The shared upstream socket of `url`, opened on first use. */
  const upstream = (url: string): Client => {
    const current = upstreams.get(url);
    if (current) return current;
    const client: Client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: true,
      // Kept a while after its last subscription ends: subscribers come and go.
      lazyCloseTimeout: opts.upstreamOptions?.lazyCloseTimeout ?? 30_000,
      // Retries are this module's (per subscription, see `failed`); graphql-ws's own would resubscribe everything.
      retryAttempts: 0,
      connectionAckWaitTimeout: opts.upstreamOptions?.connectionAckWaitTimeout ?? 10_000,
      connectionParams: { ...SHARED_CONNECTION_PARAMS },
      on: {
        closed: (event) => {
          if (upstreams.get(url) === client) upstreams.delete(url);
          const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
          if (!closing && code !== 1000)
            opts.logger.warn('subscription upstream socket closed', { url, code, reason: reason || undefined });
        },
        error: (err) => {
          if (upstreams.get(url) === client) upstreams.delete(url);
          if (!closing)
            opts.logger.warn('subscription upstream socket failed', { url, error: describeUpstreamFailure(err) });
        },
      },
    });
    upstreams.set(url, client);
    return client;
  };

  const ws: GraphQLWebSocket = attachGraphQLWebSocket<EdgeContext>({
    server: opts.server,
    path: opts.path,
    schema: apiGraphQLSchema,
    authenticator: opts.authenticator,
    formatError: createFormatError((err) => opts.logger.error('unexpected subscription error', { err })),
    bounds: opts.limits,
    sendBounds: opts.sendBounds,
    resolveDocument: opts.trustedDocuments && ((payload) => opts.trustedDocuments!.resolve(payload)),
    // Clients of the gateway authenticate their socket (4401 semantics); only subgraphs accept shared sockets.
    perOperationCredentials: false,
    context: (base, connection) => ({ ...base, connection }),
    subscribe: async (args) => relay(args),
  });

  /** The plan of a validated subscription (cached by its printed document and operation name). */
  function plan(args: ExecutionArgs, text: string): Planned {
    const operationName = args.operationName ?? undefined;
    const key = `${operationName ?? ''}\n${text}`;
    const hit = plans.get(key);
    if (hit) return hit;
    const operation = operationFromDocument(apiSchema, args.document, { operationName });
    const planned = planner.buildQueryPlan(operation);
    if (planned.node?.kind !== 'Subscription') throw new Error(`a subscription planned as ${planned.node?.kind}`);
    const context = buildOperationContext({
      schema: apiGraphQLSchema,
      operationDocument: args.document,
      operationName,
    });
    const result = { node: planned.node, context };
    plans.set(key, result);
    if (plans.size > PLAN_CACHE_MAX) plans.delete(plans.keys().next().value as string);
    return result;
  }

  /**
   * One upstream event through the whole plan: the primary fetch is answered with the event (once; every other
   * fetch, including later ones to the same subgraph, goes to the real data source), the rest fetches the foreign
   * fields, and the response is shaped to the client's selection (aliases, fragments, `__typename`).
   */
  function fill(event: ExecutionResult, planned: Planned, args: ExecutionArgs, ctx: EdgeContext) {
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

  /**
   * Writes `result` to every subscriber of `group` and keeps it for late ones (within the history bound). It is
   * serialized once (`ws.serialize`: errors formatted as every socket sends them) and each subscriber's socket gets
   * that text framed with its own operation id (ws.ts `ResultStream`): the cost per subscriber is one socket write.
   * A fan-out to thousands would still hold the event loop for all of them at once (no socket read meanwhile: the
   * upstream's keep-alive pongs, other groups' events): past {@link FANOUT_CHUNK} subscribers the rest waits for the
   * next turn of the loop (`setImmediate`). The group's chain waits for the whole fan-out, so results stay in order;
   * those who join meanwhile have it from the history.
   */
  async function deliver(group: Group, result: ExecutionResult) {
    if (group.ended) return;
    const serialized = ws.serialize(result);
    if (group.joinable) {
      if (group.history.length < MAX_GROUP_HISTORY) group.history.push(serialized);
      else retire(group);
    }
    const targets = [...group.subscribers];
    for (let i = 0; i < targets.length; i++) {
      if (i > 0 && i % FANOUT_CHUNK === 0) await new Promise((r) => setImmediate(r));
      targets[i]!.stream.write(serialized);
    }
  }

  /** No one joins `group` any more: later subscribers start a group of their own. */
  function retire(group: Group) {
    group.joinable = false;
    group.history = [];
    if (groups.get(group.key) === group) groups.delete(group.key);
  }

  /** Ends `group` for every subscriber, after `last` (an error result) when given. */
  async function end(group: Group, last?: ExecutionResult) {
    if (group.ended) return;
    if (last) await deliver(group, last);
    if (group.ended) return;
    group.ended = true;
    retire(group);
    group.stop();
    for (const s of group.subscribers) s.stream.end();
    group.subscribers.clear();
  }

  /** Starts `group`'s upstream subscription (again, on a retry) on the URL's shared socket. */
  function start(group: Group, url: string, primary: FetchNode, variables: Record<string, unknown>, token: string) {
    group.attempts++;
    group.received = 0;
    let active = true;
    const unsubscribe = upstream(url).subscribe(
      {
        query: primary.operation,
        variables: Object.fromEntries((primary.variableUsages ?? []).map((v) => [v, variables[v]])),
        operationName: primary.operationName,
        extensions: { authorization: `Bearer ${token}` },
      },
      {
        next: (event) => {
          if (!active) return;
          group.received++;
          group.chain = group.chain.then(() => group.onEvent(event as ExecutionResult));
        },
        complete: () => {
          if (!active) return;
          active = false;
          group.chain = group.chain.then(() => end(group));
        },
        error: (e) => {
          if (!active) return;
          active = false;
          group.chain = group.chain.then(() => failed(group, e, () => start(group, url, primary, variables, token)));
        },
      },
    );
    group.stop = () => {
      active = false;
      unsubscribe();
    };
  }

  /** An upstream failure of `group`: its GraphQL errors passed on, a lost socket retried or ended with a code. */
  function failed(group: Group, e: unknown, retry: () => void): Promise<void> | void {
    if (group.ended) return;
    if (Array.isArray(e)) {
      // The subgraph refused the operation (NOT_FOUND, UNAUTHENTICATED, ...): its errors, as they are.
      return end(group, { errors: (e as GraphQLFormattedError[]).map(revive) });
    }
    const why = describeUpstreamFailure(e);
    if (group.received === 0 && group.history.length === 0 && group.attempts < MAX_UPSTREAM_ATTEMPTS && !closing) {
      const delay = upstreamBackoffMs(group.attempts);
      opts.logger.warn('subscription upstream lost; subscribing again', {
        error: why,
        attempt: group.attempts + 1,
        delayMs: delay,
      });
      const timer = setTimeout(retry, delay);
      group.stop = () => clearTimeout(timer);
      return;
    }
    opts.logger.warn('subscription upstream lost; its subscribers are told to subscribe again', {
      error: why,
      subscribers: group.subscribers.size,
      delivered: group.history.length,
    });
    return end(group, {
      errors: [
        new GraphQLError(
          'The service behind this subscription is unavailable; subscribe again (resume with afterSequence).',
          { extensions: { code: 'UPSTREAM_UNAVAILABLE' } },
        ),
      ],
    });
  }

  /**
   * One client subscription: its group (joined, or started), and the subscriber's result stream, whose iterator is
   * what graphql-ws runs (it yields nothing itself: results are written to the socket by the group). A refusal is one
   * result.
   */
  function relay(args: ExecutionArgs): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
    const ctx = args.contextValue as EdgeContext;
    // The same text gives the same document object (ws.ts caches them): printed once.
    let text = printed.get(args.document);
    if (text === undefined) printed.set(args.document, (text = print(args.document)));
    let planned: Planned;
    try {
      planned = plan(args, text);
    } catch (err) {
      opts.logger.error('subscription could not be planned', { err });
      return { errors: [new GraphQLError('Internal server error.', { extensions: { code: 'INTERNAL' } })] };
    }
    const primary: FetchNode = planned.node.primary;
    const url = opts.wsUrlOf(primary.serviceName);
    if (!url)
      return {
        errors: [new GraphQLError('No subgraph serves this subscription.', { extensions: { code: 'BAD_USER_INPUT' } })],
      };
    const variables = args.variableValues ?? {};
    const token = ctx.tenant!.token;
    // Same credential, document and variables: the same results, whoever asks (the group key).
    const key = JSON.stringify([url, token, args.operationName ?? null, text, variables]);
    let group = groups.get(key);
    if (!group || !group.joinable || group.ended) {
      const created: Group = {
        key,
        subscribers: new Set(),
        history: [],
        joinable: true,
        received: 0,
        attempts: 0,
        ended: false,
        chain: Promise.resolve(),
        stop: () => undefined,
        onEvent: async (event) => {
          if (created.ended) return;
          let result: ExecutionResult;
          if (event.data == null) {
            result = { errors: (event.errors as GraphQLFormattedError[] | undefined)?.map(revive) ?? [] };
          } else {
            try {
              // The group's first subscriber's arguments and context: every member's are the same (the key).
              result = await fill(event, planned, args, ctx);
            } catch (err) {
              opts.logger.error('subscription event could not be filled', { err });
              result = { errors: [new GraphQLError('Internal server error.', { extensions: { code: 'INTERNAL' } })] };
            }
          }
          await deliver(created, result);
        },
      };
      group = created;
      groups.set(key, group);
      start(group, url, primary, variables, token);
    }
    const joined = group;
    // Each subscriber's results are written to its socket, bounded per socket (ws.ts; beyond, the client is closed
    // with 4008 and leaves the group). The last one leaving ends the upstream subscription.
    const subscriber: Subscriber = {
      stream: ctx.connection.resultStream(() => {
        joined.subscribers.delete(subscriber);
        if (joined.subscribers.size === 0 && !joined.ended) {
          joined.ended = true;
          retire(joined);
          joined.stop();
        }
      }),
    };
    for (const r of joined.history) subscriber.stream.write(r);
    if (joined.ended) subscriber.stream.end();
    else joined.subscribers.add(subscriber);
    return subscriber.stream.iterator;
  }

  return async () => {
    closing = true;
    for (const g of [...groups.values()]) g.stop();
    await ws.close();
    await Promise.all([...upstreams.values()].map((c) => c.dispose()));
    upstreams.clear();
  };
}

/**
 * An upstream error as received over graphql-ws (a plain JSON object) back into a GraphQLError, which
 * graphql-ws serializes with `toJSON`; message, path and `extensions` (with its code) are kept.
 */
function revive(e: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(e.message, { path: e.path, extensions: e.extensions ?? {} });
}
