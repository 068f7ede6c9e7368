import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { checkSource } from './bounds.ts';
import { clientOf, withRequestScope } from './audit.ts';
import { DataPilotError, ERROR_HTTP_STATUS, hasErrorCode } from './errors.ts';
import { annotateGraphQLRequest, withServerSpans } from './tracing.ts';
import { answerRefusedCredential } from './context.ts';
import { defaultCorsOrigins, handleCors, type CorsOrigins } from './cors.ts';
import type { RequestContext } from './tenancy.ts';

/** Largest request body accepted, in bytes (1 MiB); larger bodies answer HTTP 413 (code BAD_USER_INPUT). */
export const MAX_BODY_BYTES = 1 << 20;

/** Thrown by {@link readBody} for a body over its limit: answered with HTTP 413 and the connection closed. */
export class BodyTooLargeError extends DataPilotError {
  constructor(limit: number) {
    super('BAD_USER_INPUT', `The request body exceeds ${limit} bytes.`);
  }
}

/** Reads a request body as UTF-8 text, at most `limit` bytes. @throws BodyTooLargeError (BAD_USER_INPUT) when larger. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Checks a GraphQL request body before Apollo Server parses it: a `query` whose brackets nest deeper than the parser
 * can take is refused here ({@link checkSource} of bounds.ts). Everything else about the operation — its input
 * values and variables, depth, fields and cost — is checked by `useOperationBounds` (bounds.ts) before it runs.
 * @throws DataPilotError BAD_USER_INPUT.
 */
export function checkGraphQLInput(body: unknown): void {
  const query = (body as { query?: unknown } | null)?.query;
  if (typeof query === 'string') checkSource(query);
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** A plain route beside GraphQL: exact path match, GET only (health, JWKS). */
export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Serves an Apollo Server 5 instance on a node:http server at `path` (default `/graphql`, also `/`),
 * plus `routes` (exact paths, e.g. `/health`). Each request gets an id (`x-request-id` header or a new
 * UUID). `context(req, requestId)` builds the GraphQL context; a DataPilotError thrown there (e.g.
 * UPSTREAM_UNAVAILABLE when a credential cannot be checked) answers a GraphQL error body with that code's HTTP
 * status, before any resolver runs. A context whose credential was refused (`credentialRefused`, context.ts) runs:
 * its response goes through {@link answerRefusedCredential} (the reason in every UNAUTHENTICATED error; HTTP 401 when
 * nothing else answered). Cross-origin requests follow `cors` (cors.ts): preflights are answered before Apollo.
 * @returns the http.Server (not yet listening); use {@link listen}.
 */
export function createGraphQLHttpServer<C extends BaseContext>(opts: {
  apollo: ApolloServer<C>;
  context: (req: IncomingMessage, requestId: string) => Promise<C>;
  routes?: Record<string, Route>;
  path?: string;
  /** The public edge (the gateway): a client's `X-Forwarded-For` is ignored; subgraphs trust the gateway's. */
  edge?: boolean;
  /** Origins allowed to call from a browser (`CORS_ORIGINS`, cors.ts); default `defaultCorsOrigins()` (by mode). */
  cors?: CorsOrigins;
}): Server {
  const gqlPath = opts.path ?? '/graphql';
  const cors = opts.cors ?? defaultCorsOrigins();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
    res.setHeader('x-request-id', requestId);
    if (handleCors(req, res, cors)) return;
    let context: C | undefined;
    try {
      const route = opts.routes?.[url.pathname];
      if (route && req.method === 'GET') return await route(req, res);
      if (url.pathname !== gqlPath && url.pathname !== '/') return sendJson(res, 404, { error: 'not found' });
      const headers = new HeaderMap();
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      let body: unknown;
      if (req.method === 'POST') {
        const text = await readBody(req);
        try {
          body = text ? JSON.parse(text) : {};
        } catch {
          throw new DataPilotError('BAD_USER_INPUT', 'The request body is not valid JSON.');
        }
        checkGraphQLInput(body);
        annotateGraphQLRequest(body);
      }
      // The client's address, user agent and request id stay readable for the whole request (the audit log's
      // "from where", audit.ts), without passing them through every call.
      const result = await withRequestScope(clientOf(req, requestId, !opts.edge), () =>
        opts.apollo.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
          context: async () => (context = await opts.context(req, requestId)),
        }),
      );
      for (const [k, v] of result.headers) res.setHeader(k, v);
      res.statusCode = result.status ?? 200;
      if (result.body.kind === 'complete') {
        const refused = (context as Partial<RequestContext> | undefined)?.credentialRefused;
        if (!refused) return res.end(result.body.string);
        const answer = answerRefusedCredential(res.statusCode, result.body.string, refused);
        res.statusCode = answer.status;
        return res.end(answer.body);
      }
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    } catch (e) {
      if (res.headersSent) return res.end();
      const err = hasErrorCode(e) ? (e as DataPilotError) : new DataPilotError('INTERNAL', 'Internal server error.');
      const code = err.extensions.code as keyof typeof ERROR_HTTP_STATUS;
      // An unread body stays on the socket: answer 413 and close the connection rather than reuse it.
      const tooLarge = e instanceof BodyTooLargeError;
      sendJson(
        res,
        tooLarge ? 413 : (ERROR_HTTP_STATUS[code] ?? 500),
        { errors: [{ message: err.message, extensions: { code } }] },
        tooLarge ? { connection: 'close' } : {},
      );
    }
  });
  // With tracing on, each GraphQL request runs in a server span continuing the caller's `traceparent` (tracing.ts).
  return withServerSpans(server, (path) => path === gqlPath || path === '/');
}

/**
 * How long an idle keep-alive connection stays open, in milliseconds. A client reusing a socket the server is closing
 * at that moment gets ECONNRESET, and a POST is not retried: an outage the client did not cause. undici (the
 * gateway's fetch) closes idle sockets 1 s before the server's advertised `Keep-Alive: timeout`; with Node's default of
 * 5 s a socket idle for 4 s (common between a test's or a user's requests) sits in that 1 s window, where event-loop
 * lag on a busy machine lets the server's timer win. At 65 s the window moves to sockets idle for about a minute.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Starts `server` listening on `host:port` (port 0 = a free port), with {@link KEEP_ALIVE_TIMEOUT_MS}.
 * @returns the base URL, e.g. `http://127.0.0.1:4001`.
 */
export function listen(server: Server, port: number, host = '127.0.0.1'): Promise<string> {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      resolve(`http://${host}:${addr.port}`);
    });
  });
}

/** Closes `server`, ending idle keep-alive connections too. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
