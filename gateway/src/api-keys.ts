/**
 * API keys as bearer credentials at the gateway: `Authorization: Bearer dp_live_…` (HTTP) or the same string in a
 * WebSocket's `connectionParams.authorization`. The gateway exchanges the key with the auth subgraph
 * (`exchangeApiKey`) for a short-lived access token, keeps that token until shortly before it expires, and from then
 * on treats the request exactly like one that carried the token: verified, principal-checked (so a revoked key stops
 * working within the principal check's 10 s), forwarded to the subgraphs. Subgraphs never see the key.
 */
import { createHash } from 'node:crypto';
import { DataPilotError, unauthenticated, type Authenticator } from '@datapilot/common';

/** `dp_live_` + 32 random bytes in base64url (43 characters): the shape the auth subgraph issues. */
export const API_KEY_BEARER = /^\s*Bearer\s+(dp_live_[A-Za-z0-9_-]{43})\s*$/i;
/** A token is renewed this long before it expires, in milliseconds. */
const RENEW_BEFORE_MS = 30_000;
/** A refused key is answered from memory for this long, in milliseconds (no exchange per request of a bad key). */
const REFUSED_FOR_MS = 5_000;
/** Most keys remembered at once; the oldest goes first. */
const CACHE_MAX = 10_000;

/** Exchanges an API key for an access token; see {@link exchangeWithAuth}. */
export type ApiKeyExchange = (key: string) => Promise<{ accessToken: string; expiresAtMs: number }>;

/**
 * An {@link ApiKeyExchange} over the auth subgraph's public `exchangeApiKey` mutation at `authGraphqlUrl`.
 * @throws DataPilotError UNAUTHENTICATED when auth refuses the key (unknown, revoked, expired);
 *   UPSTREAM_UNAVAILABLE when auth cannot be reached.
 */
export function exchangeWithAuth(authGraphqlUrl: string, timeoutMs = 5_000): ApiKeyExchange {
  return async (key) => {
    let body: { data?: { exchangeApiKey?: { accessToken?: string; expiresAt?: string } }; errors?: unknown[] };
    try {
      const res = await fetch(authGraphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'mutation Exchange($key: String!) { exchangeApiKey(key: $key) { accessToken expiresAt } }',
          variables: { key },
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = (await res.json()) as typeof body;
    } catch {
      throw new DataPilotError('UPSTREAM_UNAVAILABLE', 'The auth service cannot check the API key; try again.');
    }
    const out = body.data?.exchangeApiKey;
    if (!out?.accessToken || !out.expiresAt) {
      const code = (body.errors?.[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code;
      if (code === 'UNAUTHENTICATED' || code === 'BAD_USER_INPUT' || code === 'NOT_FOUND')
        throw unauthenticated('The API key is invalid, expired or revoked.');
      throw new DataPilotError('UPSTREAM_UNAVAILABLE', 'The auth service cannot check the API key; try again.');
    }
    return { accessToken: out.accessToken, expiresAtMs: Date.parse(out.expiresAt) };
  };
}

/**
 * Wraps `base` so that an API key is accepted wherever an access token is (see the module comment). Keys are
 * remembered by their SHA-256, never in clear.
 */
export function withApiKeys(base: Authenticator, exchange: ApiKeyExchange): Authenticator {
  const tokens = new Map<string, { accessToken: string; renewAtMs: number } | { refusedUntilMs: number }>();
  const inflight = new Map<string, Promise<string>>();
  const tokenFor = async (key: string): Promise<string> => {
    const id = createHash('sha256').update(key).digest('base64url');
    const hit = tokens.get(id);
    const now = Date.now();
    if (hit && 'accessToken' in hit && now < hit.renewAtMs) return hit.accessToken;
    if (hit && 'refusedUntilMs' in hit && now < hit.refusedUntilMs)
      throw unauthenticated('The API key is invalid, expired or revoked.');
    let pending = inflight.get(id);
    if (!pending) {
      pending = exchange(key)
        .then(({ accessToken, expiresAtMs }) => {
          tokens.set(id, { accessToken, renewAtMs: expiresAtMs - RENEW_BEFORE_MS });
          return accessToken;
        })
        .catch((e: unknown) => {
          if (e instanceof DataPilotError && e.code === 'UNAUTHENTICATED')
            tokens.set(id, { refusedUntilMs: Date.now() + REFUSED_FOR_MS });
          throw e;
        })
        .finally(() => {
          inflight.delete(id);
          if (tokens.size > CACHE_MAX) tokens.delete(tokens.keys().next().value as string);
        });
      inflight.set(id, pending);
    }
    return pending;
  };
  return {
    async fromAuthorization(header) {
      const value = Array.isArray(header) ? header[0] : header;
      const key = typeof value === 'string' ? API_KEY_BEARER.exec(value)?.[1] : undefined;
      if (!key) return base.fromAuthorization(header);
      return base.fromAuthorization(`Bearer ${await tokenFor(key)}`);
    },
    stillActive: (tenant) => base.stillActive(tenant),
    acceptedUntilMs: (tenant) => base.acceptedUntilMs(tenant),
    dependencies: base.dependencies,
  };
}
