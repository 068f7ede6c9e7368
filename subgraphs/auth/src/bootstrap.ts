/**
 * Idempotent creation of a user and their organization without HTTP, for the stack launcher's demo
 * organization. Uses the same registration step as the signup mutation.
 */
import type { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { conflict, hasErrorCode, inTenantTransaction, setDbScope } from '@datapilot/common';
import { registerAccount } from './accounts.ts';
import * as db from './data/accounts.ts';
import { verifyPassword } from './passwords.ts';
import { migrateAuthSchema } from './server.ts';
import { checkEmail, checkOrgName } from './validation.ts';

/**
 * Ensures that `email` has an account with `password` and is a member of an organization named `orgName`:
 * - no account: registers it exactly as signup does (same validation; the user is OWNER of a new organization);
 * - an account with that password: returns its organization named `orgName` (the first joined, if several),
 *   or creates one with the user as OWNER when none has that name.
 * Applies the auth migrations first, so it works before the auth server has ever started. Concurrent calls
 * for the same email agree (unique email + a transaction-scoped advisory lock on the email).
 * @returns the user id and organization id (UUIDs).
 * @throws BAD_USER_INPUT for input signup would refuse; CONFLICT when the account exists with another
 *   password (an existing account's credentials are never overwritten).
 */
export async function ensureUser(
  pool: Pool,
  input: { email: string; password: string; orgName: string },
): Promise<{ userId: string; orgId: string }> {
  await migrateAuthSchema(pool);
  try {
    const { user, org } = await registerAccount(pool, input);
    return { userId: user.id, orgId: org.id };
  } catch (e) {
    if (!hasErrorCode(e, 'CONFLICT')) throw e;
  }
  const email = checkEmail(input.email);
  const orgName = checkOrgName(input.orgName);
  const user = await db.findUserByEmail(pool, email);
  if (!user || !(await verifyPassword(input.password, user.password_hash)))
    throw conflict(`An account for ${email} exists already with another password.`);
  return inTenantTransaction(pool, { userId: user.id }, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`auth:ensure-user:${email}`]);
    const named = (await db.listMemberships(c, user.id)).find((m) => m.org_name === orgName);
    if (named) return { userId: user.id, orgId: named.org_id };
    const orgId = randomUUID();
    await setDbScope(c, { orgId, userId: user.id });
    const org = await db.insertOrganization(c, orgId, orgName);
    await db.insertMembership(c, user.id, org.id, 'OWNER');
    return { userId: user.id, orgId: org.id };
  });
}
