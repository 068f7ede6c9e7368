/**
 * The business rules of an organization's roles (issue 6, section 1), beside the permission table: the table
 * (packages/common/src/permissions.ts, enforced by the schema guard) says who may call a field at all; these say
 * what a caller allowed to call it may do to whom. Pure functions of roles, no I/O; the team and API-key flows call
 * them with roles read inside the transaction that makes the change.
 * - Nobody grants a role above their own: invitations, role changes and API keys (a key never holds a higher role
 *   than its creator).
 * - Nobody changes or removes a member whose role is above their own (an ADMIN cannot touch an OWNER).
 * - An organization keeps at least one OWNER: the last one can be neither demoted, nor removed, nor leave.
 */
import { DataPilotError, forbidden, roleAtLeast, type Role } from '@datapilot/common';

/**
 * Refuses to give `role` when it is above `actor`'s own role.
 * @param what how the role is given, for the message: e.g. "invite someone as", "grant", "give an API key".
 * @throws FORBIDDEN with `extensions.requiredRole` = `role` (the role one must hold to give it).
 */
export function checkGrant(actor: Role, role: Role, what: string): void {
  if (roleAtLeast(actor, role)) return;
  throw new DataPilotError(
    'FORBIDDEN',
    `You cannot ${what} ${role}: it is above your own role, ${actor}, and nobody grants a role above their own.`,
    { requiredRole: role },
  );
}

/**
 * Refuses to change or remove a member whose current role `target` is above `actor`'s.
 * @throws FORBIDDEN with `extensions.requiredRole` = `target`.
 */
export function checkManage(actor: Role, target: Role): void {
  if (roleAtLeast(actor, target)) return;
  throw new DataPilotError(
    'FORBIDDEN',
    `You cannot change or remove a member whose role, ${target}, is above your own, ${actor}.`,
    { requiredRole: target },
  );
}

/**
 * Refuses to leave the organization without an OWNER: when the member's role `current` is OWNER, `next` (their new
 * role, or null when they are removed or leave) is not, and `owners` (the organization's OWNERs now, them included)
 * is 1.
 * @throws FORBIDDEN saying why and what to do instead.
 */
export function checkKeepsOwner(current: Role, next: Role | null, owners: number): void {
  if (current !== 'OWNER' || next === 'OWNER' || owners > 1) return;
  throw forbidden(
    'This is the last OWNER of the organization, which must keep at least one: make another member OWNER first.',
  );
}
