// Shared test plumbing: a fresh database per test file and a GraphQL client over fetch.
import pg from 'pg';
import { createLogger } from '@datapilot/common';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { createAuthServer, migrateAuthSchema, type AuthServer, type AuthServerOptions } from '../src/index.ts';

export type GqlResult = {
  status: number;
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, any> }[];
};

/** POSTs a GraphQL operation; returns HTTP status and the parsed body. */
export async function gql(url: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) } as GqlResult;
}

/**
 * A fresh database and a running auth server (port 0), with `opts` added to its options. The migrations run as the
 * superuser (`pool`, also the tests' own SQL: no policy binds it); the server runs as the runtime role datapilot_auth
 * (`serverPool`), which row-level security binds as in production.
 */
export async function startAuth(opts: Partial<AuthServerOptions> = {}): Promise<{
  db: TestDatabase;
  pool: pg.Pool;
  serverPool: pg.Pool;
  server: AuthServer;
  stop(): Promise<void>;
}> {
  const db = await startTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 5 });
  await migrateAuthSchema(pool);
  const serverPool = new pg.Pool({ connectionString: await db.urlAs('datapilot_auth'), max: 5 });
  const server = await createAuthServer({
    pool: serverPool,
    port: 0,
    logger: createLogger('auth-test', 'warn'),
    ...opts,
  });
  return {
    db,
    pool,
    serverPool,
    server,
    async stop() {
      await server.close();
      await serverPool.end();
      await pool.end();
      await db.close();
    },
  };
}

export const SIGNUP = `mutation($input: SignupInput!) {
  signup(input: $input) { accessToken refreshToken expiresAt role user { id email createdAt } organization { id name createdAt } }
}`;
export const LOGIN = `mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken expiresAt role user { id email } organization { id name } }
}`;
export const REFRESH = `mutation($t: String!) {
  refreshToken(refreshToken: $t) { accessToken refreshToken expiresAt role user { id email } organization { id name } }
}`;
export const ME = `{ me { role user { id email } organization { id name } } }`;

/** GET /principal with `token` as the bearer: HTTP status, body and cache-control. */
export async function principal(baseUrl: string, token?: string) {
  const res = await fetch(`${baseUrl}/principal`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    cache: res.headers.get('cache-control'),
  };
}

/** The first error's `extensions` of a GraphQL answer (undefined when it succeeded). */
export const errorOf = (r: GqlResult) => r.errors?.[0]?.extensions;

export const PAYLOAD_FIELDS = `accessToken refreshToken expiresAt role user { id email } organization { id name }`;
export const ORGANIZATIONS = `{ organizations { role joinedAt organization { id name } user { id } } }`;
export const MEMBERS = `query($first: Int, $after: String) { members(first: $first, after: $after) {
  edges { cursor node { role joinedAt user { id email } organization { id } } } pageInfo { hasNextPage endCursor } } }`;
export const INVITE = `mutation($email: String!, $role: Role!) { inviteMember(email: $email, role: $role) {
  token invitation { id email role status createdAt expiresAt invitedBy { id } } } }`;
export const INVITATIONS = `query($first: Int, $after: String) { invitations(first: $first, after: $after) {
  edges { cursor node { id email role status } } pageInfo { hasNextPage endCursor } } }`;
export const ACCEPT = `mutation($token: String!) { acceptInvitation(token: $token) { ${PAYLOAD_FIELDS} } }`;
export const REVOKE_INVITATION = `mutation($id: ID!) { revokeInvitation(id: $id) { id status } }`;
export const SWITCH = `mutation($orgId: ID!) { switchOrganization(orgId: $orgId) { ${PAYLOAD_FIELDS} } }`;
export const UPDATE_ROLE = `mutation($userId: ID!, $role: Role!) { updateMemberRole(userId: $userId, role: $role) {
  role user { id } organization { id } } }`;
export const REMOVE = `mutation($userId: ID!) { removeMember(userId: $userId) }`;
export const LEAVE = `mutation { leaveOrganization }`;
export const SIGN_OUT = `mutation { signOut }`;
export const CREATE_KEY = `mutation($name: String!, $role: Role!, $expiresAt: DateTime) {
  createApiKey(name: $name, role: $role, expiresAt: $expiresAt) {
    secret apiKey { id name role status createdAt expiresAt revokedAt lastUsedAt createdBy { id } } } }`;
export const API_KEYS = `query($first: Int, $after: String) { apiKeys(first: $first, after: $after) {
  edges { cursor node { id name role status lastUsedAt revokedAt createdBy { id } } } pageInfo { hasNextPage endCursor } } }`;
export const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { id status revokedAt } }`;
export const EXCHANGE = `mutation($key: String!) { exchangeApiKey(key: $key) { accessToken expiresAt role } }`;
