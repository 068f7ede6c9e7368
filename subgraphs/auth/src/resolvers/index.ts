/**
 * Resolvers of schema.graphql: thin — take arguments, call the account flows or the tenant-bound data
 * layer, return. Deny by default: {@link guardResolvers} wraps every root field and `__resolveReference`
 * except those in {@link PUBLIC_FIELDS}.
 */
import { guardResolvers, requireTenant, unauthenticated, type RequestContext } from '@datapilot/common';
import type { Pool } from 'pg';
import type { AccountService, SignupInput } from '../accounts.ts';
import { tenantData } from '../data/tenant.ts';

/** The only fields that answer without an access token. */
export const PUBLIC_FIELDS = ['Mutation.signup', 'Mutation.login', 'Mutation.refreshToken'] as const;

/** Builds the guarded resolver map. */
export function createResolvers(deps: { pool: Pool; accounts: AccountService }) {
  const { pool, accounts } = deps;
  const data = (ctx: RequestContext) => tenantData(pool, requireTenant(ctx));
  return guardResolvers(
    {
      Query: {
        me: async (_: unknown, __: unknown, ctx: RequestContext) => {
          const me = await data(ctx).me();
          if (!me) throw unauthenticated('You are no longer a member of this organization.');
          return me;
        },
      },
      Mutation: {
        signup: (_: unknown, args: { input: SignupInput }) => accounts.signup(args.input),
        login: (_: unknown, args: { email: string; password: string }) => accounts.login(args.email, args.password),
        refreshToken: (_: unknown, args: { refreshToken: string }) => accounts.refresh(args.refreshToken),
      },
      User: {
        __resolveReference: (ref: { id: unknown }, ctx: RequestContext) => data(ctx).user(ref.id),
      },
      Organization: {
        __resolveReference: (ref: { id: unknown }, ctx: RequestContext) => data(ctx).organization(ref.id),
      },
    },
    PUBLIC_FIELDS,
  );
}
