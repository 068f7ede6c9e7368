/**
 * A cache policy for Apollo Client's `InMemoryCache` (`new InMemoryCache({ typePolicies: dataPilotTypePolicies() })`)
 * that fits DataPilot's schema, without depending on @apollo/client: plain objects of the shape Apollo Client 3 and 4
 * read (`TypePolicies`).
 * - Identity: `LakeTable` and `Dataset` by `name` (their entity keys: one per name in the caller's organization);
 *   `Me` is one object (`keyFields: []`); `LakeColumn`, `MessageResult`, `MessageResultColumn`, `MessageEvent` and `AnswerPlan` have
 *   no identity of their own and stay inside their parent (`keyFields: false`), replaced as a whole. Every other object
 *   type has an `id` (Apollo's default).
 * - Paging: every Relay connection field of the schema (generated list: ./generated/connections.ts) gets a field
 *   policy with `relayStylePagination`'s behaviour — one cached list per value of its non-paging arguments
 *   (`keyArgs`), a page fetched with `after` appended after that cursor, one with `before` put before it, one without
 *   either replacing the list — so `fetchMore({ variables: { after: pageInfo.endCursor } })` extends the list instead
 *   of losing it. Pass Apollo's own `relayStylePagination` (from `@apollo/client/utilities`) to use it instead.
 * A cache holds one user's view of one organization: clear it on sign-in, organization switch and sign-out
 * (`client.onSessionChange` → `apollo.clearStore()`; README, "Client SDK").
 */
import { CONNECTION_FIELDS } from './generated/connections.ts';

/** An Apollo Client field policy, as far as this module writes one (`FieldPolicy` of @apollo/client). */
export type FieldPolicy = {
  keyArgs?: false | string[];
  merge?:
    boolean | ((existing: Connection | undefined, incoming: Connection, options: { args: Args | null }) => Connection);
};

/** An Apollo Client type policy, as far as this module writes one (`TypePolicy` of @apollo/client). */
export type TypePolicy = { keyFields?: false | string[]; merge?: boolean; fields?: Record<string, unknown> };

/** Type name → policy (`TypePolicies` of @apollo/client). */
export type TypePolicies = Record<string, TypePolicy>;

type Args = Record<string, unknown>;
/** A connection as the cache stores it: edges (each with its `cursor`), `pageInfo` and any other field. */
type Connection = { edges?: { cursor?: unknown }[]; pageInfo?: Record<string, unknown>; [field: string]: unknown };

/**
 * A field policy paging a Relay connection like Apollo's `relayStylePagination(keyArgs)`: see the module's description.
 * `pageInfo` keeps the outer ends: `hasPreviousPage`/`startCursor` of the list's first page, `hasNextPage`/`endCursor`
 * of its last.
 */
export function relayConnection(keyArgs: readonly string[]): FieldPolicy {
  return {
    keyArgs: keyArgs.length ? [...keyArgs] : false,
    merge(existing, incoming, { args }) {
      if (!existing?.edges || !incoming.edges) return incoming;
      const at = (cursor: unknown) => existing.edges!.findIndex((e) => e.cursor === cursor);
      const after = args?.after;
      const before = args?.before;
      if (typeof after === 'string') {
        const i = at(after);
        const kept = i >= 0 ? existing.edges.slice(0, i + 1) : existing.edges;
        return {
          ...incoming,
          edges: [...kept, ...incoming.edges],
          pageInfo: { ...incoming.pageInfo, ...ends(existing.pageInfo, 'start') },
        };
      }
      if (typeof before === 'string') {
        const i = at(before);
        const kept = i >= 0 ? existing.edges.slice(i) : existing.edges;
        return {
          ...incoming,
          edges: [...incoming.edges, ...kept],
          pageInfo: { ...incoming.pageInfo, ...ends(existing.pageInfo, 'end') },
        };
      }
      return incoming;
    },
  };
}

/** The start (`hasPreviousPage`, `startCursor`) or end (`hasNextPage`, `endCursor`) fields of a cached pageInfo. */
function ends(pageInfo: Record<string, unknown> | undefined, which: 'start' | 'end'): Record<string, unknown> {
  const names = which === 'start' ? ['hasPreviousPage', 'startCursor'] : ['hasNextPage', 'endCursor'];
  return Object.fromEntries(names.filter((n) => pageInfo && n in pageInfo).map((n) => [n, pageInfo![n]]));
}

/**
 * The type policies of DataPilot's schema for Apollo Client's InMemoryCache; see the module's description.
 * @param options.relayStylePagination Apollo's `relayStylePagination` (from `@apollo/client/utilities`), used for the
 *   connection fields instead of {@link relayConnection}.
 */
export function dataPilotTypePolicies(
  options: { relayStylePagination?: (keyArgs?: false | string[]) => unknown } = {},
): TypePolicies {
  const page = (keyArgs: readonly string[]) =>
    options.relayStylePagination
      ? options.relayStylePagination(keyArgs.length ? [...keyArgs] : false)
      : relayConnection(keyArgs);
  const policies: TypePolicies = {
    LakeTable: { keyFields: ['name'], fields: { columns: { merge: false } } },
    Dataset: { keyFields: ['name'] },
    Me: { keyFields: [] },
    LakeColumn: { keyFields: false },
    MessageResult: { keyFields: false, merge: true },
    MessageResultColumn: { keyFields: false },
    MessageEvent: { keyFields: false },
    AnswerPlan: { keyFields: false },
  };
  for (const [type, fields] of Object.entries(CONNECTION_FIELDS)) {
    const policy = (policies[type] ??= {});
    policy.fields = { ...policy.fields };
    for (const [field, keyArgs] of Object.entries(fields)) policy.fields[field] = page(keyArgs);
  }
  return policies;
}
