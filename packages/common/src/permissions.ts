/**
 * The permission table: what each role may do, for every root field and every entity of every subgraph, in this one
 * place. {@link guardSchema} (guard.ts) enforces it on each subgraph's built schema and writes each rule into the
 * field's description, so that the SDL, the supergraph and the SDK show it; the persona test derives its expected
 * outcomes from it. A root field or entity without a line here makes its server refuse to start.
 *
 * Roles follow what a data team expects (issue 6): VIEWER reads tables, datasets and shared answers; ANALYST also
 * asks questions and uploads; ADMIN manages members, pipelines and tables; OWNER manages the organization, its API
 * keys and its deletion.
 */
import { ROLES, type Role } from './tenancy.ts';

/**
 * Who may call a field:
 * - `PUBLIC`: anyone, no token (sign-in flows, the federation `_service` field);
 * - `AUTHENTICATED`: any verified, live token, whatever its role;
 * - a {@link Role}: that role or a stronger one (ROLES order: OWNER > ADMIN > ANALYST > VIEWER).
 */
export type Rule = 'PUBLIC' | 'AUTHENTICATED' | Role;

/**
 * Keys: `"Query.<field>"`, `"Mutation.<field>"`, `"Subscription.<field>"` for root fields and `"Entity.<Type>"` for
 * references to an entity through `_entities` (the gateway's way of joining subgraphs).
 * Scope rules (which rows a field returns inside the organization, e.g. conversations private to their creator)
 * stay with the resolvers; this table says who may call at all.
 */
export const PERMISSIONS: Readonly<Record<string, Rule>> = Object.freeze({
  // Federation plumbing: the composed SDL holds no tenant data.
  'Query._service': 'PUBLIC',

  // ---- auth ----
  'Mutation.signup': 'PUBLIC',
  'Mutation.login': 'PUBLIC',
  'Mutation.refreshToken': 'PUBLIC',
  'Mutation.exchangeApiKey': 'PUBLIC',
  'Query.me': 'AUTHENTICATED',
  'Query.organizations': 'AUTHENTICATED',
  'Mutation.switchOrganization': 'AUTHENTICATED',
  'Mutation.acceptInvitation': 'AUTHENTICATED',
  'Mutation.leaveOrganization': 'AUTHENTICATED',
  'Mutation.signOut': 'AUTHENTICATED',
  'Query.members': 'VIEWER',
  'Query.invitations': 'ADMIN',
  'Mutation.inviteMember': 'ADMIN',
  'Mutation.revokeInvitation': 'ADMIN',
  'Mutation.updateMemberRole': 'ADMIN',
  'Mutation.removeMember': 'ADMIN',
  'Query.auditEvents': 'ADMIN',
  'Query.apiKeys': 'OWNER',
  'Mutation.createApiKey': 'OWNER',
  'Mutation.revokeApiKey': 'OWNER',
  'Entity.User': 'VIEWER',
  'Entity.Organization': 'VIEWER',

  // ---- chat ----
  'Query.conversations': 'VIEWER',
  'Query.conversation': 'VIEWER',
  'Query.message': 'VIEWER',
  'Mutation.createConversation': 'ANALYST',
  'Mutation.sendMessage': 'ANALYST',
  'Mutation.shareConversation': 'ANALYST',
  'Mutation.cancelMessage': 'ANALYST',
  'Subscription.messageEvents': 'VIEWER',
  'Entity.Conversation': 'VIEWER',
  'Entity.Message': 'VIEWER',

  // ---- lake ----
  'Query.lakeTables': 'VIEWER',
  'Query.lakeTable': 'VIEWER',
  'Query.uploads': 'VIEWER',
  'Query.upload': 'VIEWER',
  'Query.pipelineRuns': 'VIEWER',
  'Query.pipelineRun': 'VIEWER',
  'Mutation.createUpload': 'ANALYST',
  'Mutation.completeUpload': 'ANALYST',
  'Mutation.reloadTable': 'ADMIN',
  'Subscription.pipelineRunEvents': 'VIEWER',
  'Entity.LakeTable': 'VIEWER',
  'Entity.Upload': 'VIEWER',
  'Entity.PipelineRun': 'VIEWER',

  // ---- graph ----
  'Query.datasets': 'VIEWER',
  'Query.datasetsConnection': 'VIEWER',
  'Entity.Dataset': 'VIEWER',
  // The semantic layer's edits (issue 8): what tables and columns mean is managed like the tables themselves.
  'Mutation.updateDataset': 'ADMIN',
  'Mutation.updateColumn': 'ADMIN',
  'Mutation.defineMetric': 'ADMIN',
  'Mutation.deleteMetric': 'ADMIN',
  'Mutation.defineRelationship': 'ADMIN',
  'Mutation.deleteRelationship': 'ADMIN',
});

/**
 * Fields a person must call from a password sign-in: an API key (a credential bound to one organization, acting for
 * its creator there) gets FORBIDDEN on them whatever its role — it may not move between organizations, join or leave
 * one, sign out a session, or mint another key that would outlive it.
 */
export const PASSWORD_SESSION_ONLY: ReadonlySet<string> = new Set([
  'Mutation.switchOrganization',
  'Mutation.acceptInvitation',
  'Mutation.leaveOrganization',
  'Mutation.signOut',
  'Mutation.createApiKey',
]);

/** True when `role` is `needed` or stronger (ROLES is ordered strongest first). */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(needed);
}

/** The weaker of two roles (an API key never acts above its creator). */
export function weakerRole(a: Role, b: Role): Role {
  return ROLES.indexOf(a) >= ROLES.indexOf(b) ? a : b;
}

/** The rule of `key` ("Query.me", "Entity.User"), or undefined when the table has none (deny). */
export function ruleOf(key: string): Rule | undefined {
  return Object.prototype.hasOwnProperty.call(PERMISSIONS, key) ? PERMISSIONS[key] : undefined;
}

/** One sentence for a field description and the SDL, e.g. "Access: role ANALYST or stronger (...)". */
export function describeRule(rule: Rule, passwordSessionOnly = false): string {
  const base = describeRoleRule(rule);
  return passwordSessionOnly ? `${base} Not with an API key: needs a password sign-in.` : base;
}

function describeRoleRule(rule: Rule): string {
  if (rule === 'PUBLIC') return 'Access: public (no token needed).';
  if (rule === 'AUTHENTICATED') return 'Access: any signed-in member, whatever the role.';
  return rule === 'VIEWER'
    ? 'Access: every member of the organization (role VIEWER or stronger).'
    : `Access: role ${rule} or stronger (ROLES: ${ROLES.join(' > ')}).`;
}
