/**
 * Cross-origin requests (the Fetch standard's CORS protocol) for every HTTP GraphQL server of DataPilot
 * (`createGraphQLHttpServer`, http.ts): the gateway, which browsers call, and the subgraphs alike.
 *
 * - Which origins: `CORS_ORIGINS` (the gateway's config), a comma-separated list of exact origins
 *   (`https://app.example.com`, `http://localhost:5173`), origins of any port (`http://localhost:*`), `*` (every
 *   origin) or `none`. Unset: {@link defaultCorsOrigins} — in development the Apollo Sandbox
 *   (`https://studio.apollographql.com`) and local web apps (`http://localhost:*`, `http://127.0.0.1:*`); in
 *   production none (production.ts `isProduction`).
 * - No credentials mode: DataPilot's credential is the `Authorization` header (a bearer token or API key), never a
 *   cookie, so no response carries `Access-Control-Allow-Credentials`. That is also why `*` may be configured: it
 *   lets any page call with a token the page already holds, nothing more. A browser that sends
 *   `credentials: 'include'` is refused by the browser itself.
 * - A preflight (`OPTIONS`) from an allowed origin answers 204 with the allowed methods, request headers, max age and
 *   the origin itself (with `Vary: Origin`); from another origin, 403 without CORS headers (the browser then refuses
 *   the request, and the status says why to a developer reading the network panel); without an `Origin`, 204 with
 *   `Allow`. Preflights never reach Apollo Server.
 * - Other responses carry `Access-Control-Allow-Origin` (and expose `x-request-id`) for an allowed origin only.
 *   The server does not refuse a request for its origin: the browser enforces CORS, and Apollo's CSRF prevention
 *   (production.ts: a GET or "simple" POST without a preflight header is refused with 400) stays on for every
 *   request that is not a preflight.
 * - WebSockets are not subject to CORS and are not checked against this list: their credential travels in the
 *   graphql-ws `connection_init` payload, which another site's page cannot read or replay from a cookie.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, type EnvSpec } from './config.ts';
import { isProduction } from './production.ts';

/** Origins allowed to call from a browser: exact origins, `scheme://host:*` patterns, or `['*']` (every origin). */
export type CorsOrigins = readonly string[];

/** The Apollo Sandbox's origin (Apollo Studio's Explorer and Sandbox call the endpoint from it). */
export const APOLLO_SANDBOX_ORIGIN = 'https://studio.apollographql.com';
/** The development default of `CORS_ORIGINS`: the Sandbox and local web apps on any port. */
export const DEVELOPMENT_CORS_ORIGINS: CorsOrigins = Object.freeze([
  APOLLO_SANDBOX_ORIGIN,
  'http://localhost:*',
  'http://127.0.0.1:*',
]);
/** `Access-Control-Allow-Methods` of a preflight. */
export const CORS_ALLOWED_METHODS = 'GET, POST, OPTIONS';
/**
 * `Access-Control-Allow-Headers` of a preflight: the credential, the JSON body, Apollo's CSRF preflight headers
 * (`apollo-require-preflight`, `x-apollo-operation-name`), Apollo Client's client-awareness headers, W3C trace
 * context and the request id.
 */
export const CORS_ALLOWED_HEADERS =
  'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, apollographql-client-name, ' +
  'apollographql-client-version, traceparent, tracestate, x-request-id';
/** `Access-Control-Expose-Headers` of a response: what a page may read besides the CORS-safelisted headers. */
export const CORS_EXPOSED_HEADERS = 'x-request-id';
/** `Access-Control-Max-Age` of a preflight, in seconds (10 minutes, Chromium's cap before version 76). */
export const CORS_MAX_AGE_SECONDS = 600;

/** `scheme://host` with an optional `:port` or `:*`, checked further with WHATWG URL. */
const ORIGIN_PATTERN = /^(https?:\/\/[^/:?#\s]+)(?::(\d+|\*))?$/;

/**
 * Parses a `CORS_ORIGINS` value (see the module comment): `none` → `[]`, `*` → `['*']`, else each comma-separated
 * entry, trimmed, as an origin as browsers send it (lower-case, no default port, no path or trailing slash) or
 * `scheme://host:*`.
 * @throws ConfigError naming `name` and the entry at fault (with the form to write instead, when there is one).
 */
export function parseCorsOrigins(raw: string, name = 'CORS_ORIGINS'): CorsOrigins {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 1 && entries[0] === 'none') return Object.freeze([]);
  if (entries.includes('*')) {
    if (entries.length > 1) throw new ConfigError(`${name}: "*" allows every origin and stands alone.`);
    return Object.freeze(['*']);
  }
  for (const entry of entries) {
    const m = ORIGIN_PATTERN.exec(entry);
    let origin: string | undefined;
    try {
      origin = m ? new URL(m[2] === '*' ? m[1]! : entry).origin : undefined;
    } catch {
      origin = undefined;
    }
    const expected = m?.[2] === '*' ? m[1] : entry;
    if (!m || origin !== expected)
      throw new ConfigError(
        `${name}: ${JSON.stringify(entry)} is not an origin (scheme://host[:port], or scheme://host:* for any port)` +
          (origin ? `; write ${m?.[2] === '*' ? `${origin}:*` : origin}` : '') +
          '. Separate origins with commas; "*" allows all, "none" none.',
      );
  }
  return Object.freeze(entries);
}

/**
 * The config entry of `CORS_ORIGINS` for `loadConfig` (config.ts): the parsed list, or undefined when unset (then
 * {@link defaultCorsOrigins} applies, by mode).
 */
export const corsOrigins = (doc: string): EnvSpec<CorsOrigins | undefined> => ({
  doc,
  parse: (raw, name) => (raw === undefined || raw.trim() === '' ? undefined : parseCorsOrigins(raw, name)),
});

/** The variables of an edge that browsers call, for `loadConfig({ ...CORS_CONFIG, ... })` (the gateway's config). */
export const CORS_CONFIG = {
  CORS_ORIGINS: corsOrigins(
    'origins allowed to call from a browser, comma-separated (exact origins, scheme://host:* for any port, * for ' +
      'all, none); unset: the Apollo Sandbox and http://localhost:* / http://127.0.0.1:* in development, none in ' +
      'production',
  ),
};

/**
 * `CORS_ORIGINS` when unset: {@link DEVELOPMENT_CORS_ORIGINS} in development, none in production.
 * @param production default {@link isProduction}().
 */
export function defaultCorsOrigins(production = isProduction()): CorsOrigins {
  return production ? Object.freeze([]) : DEVELOPMENT_CORS_ORIGINS;
}

/** Whether `origin` (an `Origin` header) is allowed by `origins`: equal to an entry, or of a `:*` entry's host. */
export function corsAllows(origins: CorsOrigins, origin: string): boolean {
  for (const entry of origins) {
    if (entry === '*' || entry === origin) return true;
    if (entry.endsWith(':*')) {
      const base = entry.slice(0, -2);
      if (origin === base || (origin.startsWith(`${base}:`) && /^\d+$/.test(origin.slice(base.length + 1))))
        return true;
    }
  }
  return false;
}

/**
 * Applies `origins` to one request (see the module comment): answers a preflight (`OPTIONS`, any path) completely
 * and returns true; otherwise sets the CORS headers of the response to come (for an allowed origin) and returns
 * false, for the caller to answer the request.
 */
export function handleCors(req: IncomingMessage, res: ServerResponse, origins: CorsOrigins): boolean {
  const origin = req.headers.origin;
  const allowed = typeof origin === 'string' && corsAllows(origins, origin);
  // The answer depends on Origin whenever some origin is allowed: shared caches must key on it.
  if (origins.length) res.setHeader('vary', 'Origin');
  if (req.method === 'OPTIONS') {
    if (origin === undefined) {
      res.writeHead(204, { allow: CORS_ALLOWED_METHODS }).end();
    } else if (!allowed) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('This origin may not call this API.');
    } else {
      res.writeHead(204, {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': CORS_ALLOWED_METHODS,
        'access-control-allow-headers': CORS_ALLOWED_HEADERS,
        'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
        // Chromium's Private Network Access: a public page (the Sandbox) calling a server on localhost asks first.
        ...(req.headers['access-control-request-private-network'] === 'true'
          ? { 'access-control-allow-private-network': 'true' }
          : {}),
      });
      res.end();
    }
    return true;
  }
  if (allowed) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS);
  }
  return false;
}
