import type { IncomingMessage } from 'node:http';
import { contextFromRequest, type Authenticator, type RequestContext, type TenantContext } from '@datapilot/common';

/**
 * The claims @neo4j/graphql's rules read as `$jwt` (see the `JWT @jwt` type in schema.graphql), taken from
 * the verified TenantContext, never from anything the client sent.
 */
export type GraphJwt = Readonly<{ sub: string; org: string; role: string }>;

/**
 * Context of a graph subgraph request. `jwt` is present exactly when `tenant` is: @neo4j/graphql treats a
 * `context.jwt` as already verified, so it is only ever built from a token that {@link TokenVerifier} accepted.
 * @neo4j/graphql adds its own keys (executionContext, ...) to this object during execution.
 */
export type GraphContext = RequestContext & { jwt?: GraphJwt };

/** The `$jwt` of a verified tenant. */
export const jwtOf = (t: TenantContext): GraphJwt => Object.freeze({ sub: t.userId, org: t.orgId, role: t.role });

/**
 * Builds the context from the Authorization header: no header → anonymous (every root field but `_service`
 * then answers UNAUTHENTICATED); a malformed, badly signed, expired or foreign token → throws
 * DataPilotError UNAUTHENTICATED before any resolver runs (HTTP 401).
 */
export async function createGraphContext(
  authenticator: Authenticator,
  req: Pick<IncomingMessage, 'headers'>,
  requestId: string,
): Promise<GraphContext> {
  const ctx = await contextFromRequest(authenticator, req, requestId);
  return ctx.tenant ? { ...ctx, jwt: jwtOf(ctx.tenant) } : { ...ctx };
}
