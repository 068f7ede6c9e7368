import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, subscribe, type ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataPilotError,
  PERMISSIONS,
  createAuthenticator,
  createPrincipalCheck,
  guardSchema,
  roleAtLeast,
  type Role,
  type TenantContext,
  type TokenVerifier,
} from '../src/index.ts';

// Fields chosen from the permission table, one per kind of rule (read from the table by hand:
// signup PUBLIC, me AUTHENTICATED, members VIEWER, sendMessage ANALYST, inviteMember ADMIN, createApiKey OWNER).
const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type User @key(fields: "id") { id: ID! }
  type Query { me: String members: [String!]! }
  type Mutation { signup: String sendMessage: String inviteMember: String createApiKey: String }
  type Subscription { messageEvents: String }
`);
const ok = () => 'ok';
const resolvers = {
  Query: { me: ok, members: () => ['a'] },
  Mutation: { signup: ok, sendMessage: ok, inviteMember: ok, createApiKey: ok },
  Subscription: {
    messageEvents: {
      subscribe: async function* () {
        yield { messageEvents: 'event' };
      },
    },
  },
  User: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
};
const schema = guardSchema(buildSubgraphSchema({ typeDefs, resolvers: resolvers as never }));

const tenant = (role: Role): TenantContext =>
  Object.freeze({
    userId: randomUUID(),
    orgId: randomUUID(),
    role,
    sessionId: randomUUID(),
    credential: 'session',
    expiresAtMs: Date.now() + 60_000,
    token: 't',
  });
const run = (source: string, role: Role | null, variables?: Record<string, unknown>) =>
  execute({
    schema,
    document: parse(source),
    contextValue: { tenant: role ? tenant(role) : null },
    variableValues: variables,
  }) as Promise<ExecutionResult>;
const codeOf = (r: ExecutionResult) => r.errors?.[0]?.extensions?.code ?? null;

describe('guardSchema', () => {
  const cases: [string, Role | null, string | null][] = [
    ['mutation { signup }', null, null],
    ['{ me }', null, 'UNAUTHENTICATED'],
    ['{ me }', 'VIEWER', null],
    ['{ members }', 'VIEWER', null],
    ['mutation { sendMessage }', 'VIEWER', 'FORBIDDEN'],
    ['mutation { sendMessage }', 'ANALYST', null],
    ['mutation { inviteMember }', 'ANALYST', 'FORBIDDEN'],
    ['mutation { inviteMember }', 'ADMIN', null],
    ['mutation { createApiKey }', 'ADMIN', 'FORBIDDEN'],
    ['mutation { createApiKey }', 'OWNER', null],
  ];
  it.each(cases)('%s as %s → %s', async (source, role, code) => {
    expect(codeOf(await run(source, role))).toBe(code);
  });

  it('names the role a FORBIDDEN caller needs', async () => {
    const r = await run('mutation { inviteMember }', 'VIEWER');
    expect(r.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredRole: 'ADMIN' });
    expect(r.errors?.[0]?.message).toBe('This needs the ADMIN role or a stronger one; yours is VIEWER.');
  });

  it('runs public fields for a refused credential and tells the others why it was refused', async () => {
    const contextValue = {
      tenant: null,
      credentialRefused: new DataPilotError('UNAUTHENTICATED', 'The access token has expired.'),
    };
    const exec = (source: string) => execute({ schema, document: parse(source), contextValue }) as ExecutionResult;
    expect(exec('mutation { signup }')).toEqual({ data: { signup: 'ok' } });
    const me = exec('{ me }');
    expect([me.data, me.errors?.map((e) => [e.extensions, e.message])]).toEqual([
      { me: null },
      [[{ code: 'UNAUTHENTICATED', credential: 'refused' }, 'The access token has expired.']],
    ]);
    // Without a refused credential (anonymous), the message stays the general one.
    const anonymous = (await run('{ me }', null)).errors?.[0];
    expect([anonymous?.extensions, anonymous?.message]).toEqual([
      { code: 'UNAUTHENTICATED', credential: 'missing' },
      'A valid access token is required.',
    ]);
  });

  it('guards subscriptions before they start', async () => {
    const run = (role: Role | null) =>
      subscribe({
        schema,
        document: parse('subscription { messageEvents }'),
        contextValue: { tenant: role && tenant(role) },
      });
    expect(codeOf((await run(null)) as ExecutionResult)).toBe('UNAUTHENTICATED');
    const it = (await run('VIEWER')) as AsyncIterableIterator<ExecutionResult>;
    expect((await it.next()).value).toEqual({ data: { messageEvents: 'event' } });
  });

  it('checks every `_entities` representation against the table', async () => {
    const q = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }';
    const user = { __typename: 'User', id: 'u1' };
    expect(codeOf(await run(q, null, { r: [user] }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await run(q, null, { r: [] }))).toBe('UNAUTHENTICATED');
    expect((await run(q, 'VIEWER', { r: [user] })).data).toEqual({ _entities: [{ id: 'u1' }] });
    for (const bad of [{ __typename: 'Query' }, { __typename: 'Nope', id: 1 }, { id: 'u1' }]) {
      const r = await run(q, 'OWNER', { r: [user, bad] });
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
    }
    // Also without a token: the shape is refused first, never INTERNAL.
    expect(codeOf(await run(q, null, { r: [{ __typename: 'Nope' }] }))).toBe('BAD_USER_INPUT');
  });

  it('writes each rule into the SDL that `_service` answers', async () => {
    const r = await run('{ _service { sdl } }', null);
    const sdl = (r.data as { _service: { sdl: string } })._service.sdl;
    expect(sdl).toContain('Access: role ADMIN or stronger');
    expect(sdl).toContain('Access: public (no token needed).');
    expect(sdl).toMatch(/References to this entity \(`_entities`\): Access: every member/);
  });

  it("leaves a stub of another subgraph's entity (`resolvable: false`) undescribed", () => {
    // Composition keeps one description per type: a stub's would compete with its owner's.
    const defs = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { me: String }
      type User @key(fields: "id") { id: ID! }
      type LakeTable @key(fields: "name", resolvable: false) { name: String! }`);
    const guarded = guardSchema(buildSubgraphSchema({ typeDefs: defs, resolvers: {} as never }));
    expect(guarded.getType('LakeTable')?.description ?? null).toBeNull();
    expect(guarded.getType('User')?.description).toBe(
      'References to this entity (`_entities`): Access: every member of the organization (role VIEWER or stronger).',
    );
  });

  it('refuses to build a schema with a field the table does not know', () => {
    const defs = parse('type Query { me: String secretReport: String }');
    expect(() => guardSchema(buildSubgraphSchema({ typeDefs: defs, resolvers: {} as never }))).toThrow(
      /no permission rule for Query\.secretReport/,
    );
    const entity = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { me: String } type Invoice @key(fields: "id") { id: ID! }`);
    expect(() => guardSchema(buildSubgraphSchema({ typeDefs: entity, resolvers: {} as never }))).toThrow(
      /Entity\.Invoice/,
    );
  });

  it('orders roles OWNER > ADMIN > ANALYST > VIEWER', () => {
    expect(roleAtLeast('OWNER', 'ADMIN')).toBe(true);
    expect(roleAtLeast('ANALYST', 'ANALYST')).toBe(true);
    expect(roleAtLeast('ANALYST', 'ADMIN')).toBe(false);
    expect(roleAtLeast('VIEWER', 'ANALYST')).toBe(false);
    expect(
      Object.values(PERMISSIONS).every((r) =>
        ['PUBLIC', 'AUTHENTICATED', 'OWNER', 'ADMIN', 'ANALYST', 'VIEWER'].includes(r),
      ),
    ).toBe(true);
  });
});

describe('the principal check', () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: unknown } = { status: 200, body: { active: true, role: 'ANALYST' } };
  let calls = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      calls += 1;
      expect(req.headers.authorization).toBe('Bearer the-token');
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/principal`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const verified = (role: Role): TenantContext => ({ ...tenant(role), token: 'the-token' });
  const verifierOf = (t: TenantContext): TokenVerifier => ({ clockToleranceSec: 5, verify: async () => t });

  it('enforces the current role, not the token claim, and caches per session', async () => {
    const t = verified('VIEWER');
    const auth = createAuthenticator({ verifier: verifierOf(t), principal: createPrincipalCheck({ url, ttlMs: 200 }) });
    calls = 0;
    answer = { status: 200, body: { active: true, role: 'ANALYST' } };
    expect((await auth.fromAuthorization('Bearer a.b.c'))?.role).toBe('ANALYST');
    expect((await auth.fromAuthorization('Bearer a.b.c'))?.role).toBe('ANALYST');
    expect(calls).toBe(1);
    answer = { status: 200, body: { active: false } };
    await new Promise((r) => setTimeout(r, 250));
    await expect(auth.fromAuthorization('Bearer a.b.c')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await auth.stillActive(t)).toBe(false);
    expect(calls).toBe(2);
  });

  it('uses a recent answer while auth is down, then answers UPSTREAM_UNAVAILABLE', async () => {
    const t = verified('OWNER');
    const check = createPrincipalCheck({ url, ttlMs: 50 });
    answer = { status: 200, body: { active: true, role: 'ADMIN' } };
    expect(await check(t)).toEqual({ role: 'ADMIN', via: 'session' });
    answer = { status: 503, body: {} };
    await new Promise((r) => setTimeout(r, 80));
    expect(await check(t)).toEqual({ role: 'ADMIN', via: 'session' });
    const fresh = verified('OWNER');
    await expect(check(fresh)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('treats a 401 from auth as an ended session', async () => {
    answer = { status: 401, body: { error: 'bad token' } };
    expect(await createPrincipalCheck({ url })(verified('OWNER'))).toBeNull();
  });
});
