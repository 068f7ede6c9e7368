// Shared test plumbing: a fresh database per test file and a GraphQL client over fetch.
import pg from 'pg';
import { createLogger } from '@datapilot/common';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { createAuthServer, type AuthServer, type AuthServerOptions } from '../src/index.ts';

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

/** A fresh database, a pool on it and a running auth server (port 0), with `opts` added to its options. */
export async function startAuth(opts: Partial<AuthServerOptions> = {}): Promise<{
  db: TestDatabase;
  pool: pg.Pool;
  server: AuthServer;
  stop(): Promise<void>;
}> {
  const db = await startTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 5 });
  const server = await createAuthServer({ pool, port: 0, logger: createLogger('auth-test', 'warn'), ...opts });
  return {
    db,
    pool,
    server,
    async stop() {
      await server.close();
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
