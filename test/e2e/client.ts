// Small GraphQL-over-HTTP and graphql-ws helpers for end-to-end tests (no DataPilot code under test).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** A GraphQL response as received: data and errors with their `extensions.code`. */
export type GqlResponse<T = Record<string, unknown>> = {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
};

/** POSTs one operation to `url` with an optional bearer token. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GqlResponse<T>;
  return { ...body, status: res.status };
}

/** The error codes of a response, in order. */
export const codes = (r: GqlResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

/**
 * Subscribes over graphql-ws and collects every `next` payload until the subscription completes,
 * errors, the socket closes, or `timeoutMs` passes. Resolves with the payloads and the close code (if any).
 */
export function collectSubscription(
  wsUrl: string,
  query: string,
  variables: Record<string, unknown>,
  connectionParams: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<{ events: any[]; errors: unknown[]; closeCode?: number }> {
  return new Promise((resolve) => {
    const events: any[] = [];
    const errors: unknown[] = [];
    let closeCode: number | undefined;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams,
      on: { closed: (e) => (closeCode = (e as { code?: number }).code) },
    });
    const finish = () => {
      clearTimeout(timer);
      void client.dispose();
      resolve({ events, errors, closeCode });
    };
    const timer = setTimeout(finish, timeoutMs);
    client.subscribe(
      { query, variables },
      {
        next: (v) => events.push(v),
        error: (e) => {
          errors.push(e);
          setTimeout(finish, 50);
        },
        complete: finish,
      },
    );
  });
}
