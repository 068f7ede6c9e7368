/**
 * Resolvers of schema.graphql: thin — check arguments, call the account, team and API-key flows or the tenant-bound
 * data layer, return. Who may call each root field is the permission table's (packages/common/src/permissions.ts),
 * enforced by the schema guard the server applies; here every authenticated field takes the organization and user
 * from `ctx.tenant` alone.
 */
import {
  connection,
  DateTimeScalar,
  inTenantTransaction,
  listAuditEvents,
  type AuditEventView,
  pageArgs,
  type ConnectionArgs,
  requestLoader,
  requireTenant,
  SESSION_ENDED,
  unauthenticated,
  uuidArg,
  type RequestContext,
  type Role,
} from '@datapilot/common';
import type { Pool } from 'pg';
import type { AccountService, SignupInput } from '../accounts.ts';
import type { ApiKeyService } from '../api-keys.ts';
import { tenantData, type OrganizationView, type UserView } from '../data/tenant.ts';
import type { TeamService } from '../teams.ts';

/** Largest `first` of the auth connections (members, invitations, apiKeys). */
export const MAX_LIST_PAGE = 100;
/** `first` when a client gives none. */
const DEFAULT_PAGE = 20;

type Ctx = RequestContext;

/** Builds the resolver map. */
export function createResolvers(deps: {
  pool: Pool;
  accounts: AccountService;
  teams: TeamService;
  apiKeys: ApiKeyService;
}) {
  const { pool, accounts, teams, apiKeys } = deps;
  const data = (ctx: Ctx) => tenantData(pool, requireTenant(ctx));
  const page = (args: ConnectionArgs, list: string) => pageArgs(args, list, DEFAULT_PAGE, MAX_LIST_PAGE);
  return {
    Query: {
      me: async (_: unknown, __: unknown, ctx: Ctx) => {
        const me = await data(ctx).me();
        if (!me) throw unauthenticated(SESSION_ENDED);
        return me;
      },
      organizations: (_: unknown, __: unknown, ctx: Ctx) => teams.organizations(requireTenant(ctx)),
      auditEvents: async (_: unknown, args: ConnectionArgs, ctx: Ctx) => {
        const req = page(args, 'audit');
        return connection(await inTenantTransaction(pool, requireTenant(ctx), (c) => listAuditEvents(c, req)));
      },
      members: async (_: unknown, args: ConnectionArgs, ctx: Ctx) =>
        connection(await teams.members(requireTenant(ctx), page(args, 'member'))),
      invitations: async (_: unknown, args: ConnectionArgs, ctx: Ctx) =>
        connection(await teams.invitations(requireTenant(ctx), page(args, 'invitation'))),
      apiKeys: async (_: unknown, args: ConnectionArgs, ctx: Ctx) =>
        connection(await apiKeys.list(requireTenant(ctx), page(args, 'apikey'))),
    },
    Mutation: {
      signup: (_: unknown, args: { input: SignupInput }) => accounts.signup(args.input),
      login: (_: unknown, args: { email: string; password: string }) => accounts.login(args.email, args.password),
      refreshToken: (_: unknown, args: { refreshToken: string }) => accounts.refresh(args.refreshToken),
      switchOrganization: (_: unknown, args: { orgId: string }, ctx: Ctx) =>
        teams.switchOrganization(requireTenant(ctx), uuidArg(args.orgId, 'orgId')),
      inviteMember: (_: unknown, args: { email: string; role: Role }, ctx: Ctx) =>
        teams.inviteMember(requireTenant(ctx), args.email, args.role),
      acceptInvitation: (_: unknown, args: { token: string }, ctx: Ctx) =>
        teams.acceptInvitation(requireTenant(ctx), args.token),
      revokeInvitation: (_: unknown, args: { id: string }, ctx: Ctx) =>
        teams.revokeInvitation(requireTenant(ctx), uuidArg(args.id, 'id')),
      updateMemberRole: (_: unknown, args: { userId: string; role: Role }, ctx: Ctx) =>
        teams.updateMemberRole(requireTenant(ctx), uuidArg(args.userId, 'userId'), args.role),
      removeMember: (_: unknown, args: { userId: string }, ctx: Ctx) =>
        teams.removeMember(requireTenant(ctx), uuidArg(args.userId, 'userId')),
      leaveOrganization: (_: unknown, __: unknown, ctx: Ctx) => teams.leaveOrganization(requireTenant(ctx)),
      signOut: (_: unknown, __: unknown, ctx: Ctx) => teams.signOut(requireTenant(ctx)),
      createApiKey: (_: unknown, args: { name: string; role: Role; expiresAt?: Date | null }, ctx: Ctx) =>
        apiKeys.create(requireTenant(ctx), args),
      revokeApiKey: (_: unknown, args: { id: string }, ctx: Ctx) =>
        apiKeys.revoke(requireTenant(ctx), uuidArg(args.id, 'id')),
      exchangeApiKey: (_: unknown, args: { key: string }) => apiKeys.exchange(args.key),
    },
    AuditEvent: {
      actor: (e: AuditEventView, _: unknown, ctx: Ctx) => (e.actorUserId ? data(ctx).user(e.actorUserId) : null),
      detail: (e: AuditEventView) => JSON.stringify(e.detail),
    },
    User: {
      // Batched: the references of one request are one statement (loaders.ts).
      __resolveReference: (ref: { id: unknown }, ctx: Ctx) =>
        requestLoader<unknown, UserView>(ctx, 'User', (ids) => data(ctx).users(ids)).load(ref.id),
    },
    Organization: {
      // Only the caller's own organization resolves: one statement per request however many references name it.
      __resolveReference: (ref: { id: unknown }, ctx: Ctx) =>
        requestLoader<unknown, OrganizationView>(ctx, 'Organization', async (ids) => {
          const own = await data(ctx).organization(requireTenant(ctx).orgId);
          return ids.map((id) => (typeof id === 'string' && own && id.toLowerCase() === own.id ? own : null));
        }).load(ref.id),
    },
    DateTime: DateTimeScalar,
  };
}
