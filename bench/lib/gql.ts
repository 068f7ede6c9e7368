/** The GraphQL-over-HTTP client of the benchmarks: one POST, the JSON answer as it came. */

/** A GraphQL response (GraphQL over HTTP): `data` shaped `T`, and the errors with their extensions. */
export type Gql<T> = { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/**
 * POSTs `{ query, variables }` to `url` (…/graphql) with `Authorization: Bearer <token>` when a token is given.
 * @returns the response body, errors included (not thrown); `T` is the shape of its `data`.
 * @throws Error when the server cannot be reached or does not answer JSON.
 */
export async function gql<T = unknown>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<Gql<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Gql<T>;
}
