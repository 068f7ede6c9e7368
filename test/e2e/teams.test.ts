// End to end, issue 6 (teams, roles, API keys, key rotation) through the real stack: four subgraphs and the gateway
// as processes over the engines of test/global-setup.ts, one stack for the whole file.
//
// 1. The persona matrix (issue 6, section 8), generated from the supergraph composed from what the running subgraphs
//    serve (`_service { sdl }` of each, composed like the gateway does): every root field through the gateway (HTTP;
//    subscriptions over its graphql-ws edge) and every entity through `_entities` on the subgraph that resolves it,
//    called as each persona. The expected outcome of each call comes from the permission table alone.
// 2. The issue's "Done when": an invited VIEWER reads and is refused, is promoted and removed; an ANALYST API key
//    uploads and is revoked; a signing-key rotation under load. Each delay is measured and printed.
import { createPublicKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, type JWK } from 'jose';
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  Kind,
  getNamedType,
  isCompositeType,
  parse,
  GraphQLObjectType,
  type ConstDirectiveNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { Supergraph } from '@apollo/federation-internals';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD_SESSION_ONLY,
  PERMISSIONS,
  PRINCIPAL_TTL_MS,
  roleAtLeast,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  type Role,
  type Rule,
} from '@datapilot/common';
import { DEVELOPMENT_KEY_ENCRYPTION_KEY, openPrivateJwk, scheduleKeyRotation } from '@datapilot/auth';
import { composeSupergraph } from '../../gateway/src/compose.ts';
import { REPO_ROOT, type Stack } from '../../scripts/stack.ts';
import { createDatabase, startTestStack } from '../support/stack.ts';
import { collectSubscription } from './client.ts';

/**
 * Seconds between publishing a new signing key and its first signature in the rotation test: more than the
 * verifiers' JWKS refetch cooldown (5 s), so a verifier that fetched just before the rotation refetches in time.
 * Also the auth service's AUTH_KEY_PUBLISH_LEAD_SECONDS here, which makes it re-read its keys every 2 s (a quarter
 * of the lead) instead of every 30 s: it holds the new key before the key activates and switches on time.
 */
const ROTATION_LEAD_S = 8;
const KEK = Buffer.from(process.env.AUTH_KEY_ENCRYPTION_KEY || DEVELOPMENT_KEY_ENCRYPTION_KEY, 'base64');
const PASSWORD = 'Persona-pass-2026';
/** The issue's bound on how late a removal, role change or revocation may take effect. */
const ISSUE_BOUND_MS = 30_000;

let stack: Stack;
let dbUrl: string;
let gw: string;
let wsUrl: string;
const fileStarted = Date.now();

// ---- small clients (no DataPilot code under test) ----

type Gql = {
  status: number;
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
};

/** POSTs one operation with an optional `Authorization` header value (not only bearer JWTs: keys, garbage). */
async function post(url: string, query: string, variables: Record<string, unknown> = {}, authorization?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { ...((await res.json()) as Omit<Gql, 'status'>), status: res.status } as Gql;
}
const codesOf = (r: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  (r.errors ?? []).map((e) => String(e.extensions?.code));
const bearer = (token: string) => `Bearer ${token}`;

/** The gateway, asserting no error: the data. */
async function must(query: string, variables: Record<string, unknown>, authorization?: string) {
  const r = await post(gw, query, variables, authorization);
  if (r.errors?.length) throw new Error(`${query.slice(0, 80)}: ${JSON.stringify(r.errors)}`);
  return r.data!;
}

const SIGNUP = `mutation($i: SignupInput!) { signup(input: $i) { accessToken refreshToken user { id } organization { id } role } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }`;
const INVITE = `mutation($e: String!, $r: Role!) { inviteMember(email: $e, role: $r) { token invitation { id } } }`;
const CREATE_KEY = `mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { secret apiKey { id } } }`;
const EXCHANGE = `mutation($k: String!) { exchangeApiKey(key: $k) { accessToken } }`;

type Account = { email: string; userId: string; orgId: string; token: string; refreshToken: string };
const email = (who: string) => `${who}-${randomUUID().slice(0, 8)}@teams.example`;

async function signup(who: string, orgName: string): Promise<Account> {
  const e = email(who);
  const d = (await must(SIGNUP, { i: { email: e, password: PASSWORD, orgName } })).signup;
  return { email: e, userId: d.user.id, orgId: d.organization.id, token: d.accessToken, refreshToken: d.refreshToken };
}

/** `owner` invites a new user with `role`; the user signs up with the invitation. */
async function invited(owner: Account, who: string, role: Role): Promise<Account> {
  const e = email(who);
  const inv = (await must(INVITE, { e, r: role }, bearer(owner.token))).inviteMember;
  const d = (await must(SIGNUP, { i: { email: e, password: PASSWORD, invitationToken: inv.token } })).signup;
  expect([d.organization.id, d.role]).toEqual([owner.orgId, role]);
  return {
    email: e,
    userId: d.user.id,
    orgId: d.organization.id,
    token: d.accessToken,
    refreshToken: d.refreshToken,
  };
}

/**
 * A new user holding `role` in a new organization of its own, made by another new user (so an OWNER is one of two
 * and may leave): a principal whose session-ending calls disturb nobody else.
 */
async function memberWithRole(role: Role, label: string): Promise<Account> {
  const creator = await signup(`${label}-creator`, `${label} org`);
  return invited(creator, label, role);
}

/** An OWNER's API key with `role`: the raw secret and an access token exchanged for it at the auth subgraph. */
async function apiKey(owner: Account, role: Role, name: string) {
  const k = (await must(CREATE_KEY, { n: name, r: role }, bearer(owner.token))).createApiKey;
  const x = await post(`${stack.urls.auth}/graphql`, EXCHANGE, { k: k.secret });
  return { id: k.apiKey.id as string, secret: k.secret as string, token: x.data!.exchangeApiKey.accessToken as string };
}

/** Time until `probe` answers true, polling every `everyMs`; throws after `timeoutMs`. */
async function until(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---- the first organization (Acme): real objects whose ids another organization tries ----

const CSV = 'sensor,reading\nalpha,1.5\nbeta,2.25\ngamma,3\n';
const CSV_ROWS = CSV.trim().split('\n').length - 1;

let owner: Account; // Acme's OWNER
let pipelineKey: Awaited<ReturnType<typeof apiKey>>; // Acme's ANALYST key, the one of "Done when"
const keyUpload: { created?: Gql; putStatus?: number; completed?: Gql } = {};
let sharedConversation: string;
let privateConversation: string;
const sharedQuestion = 'How many rows does measurements have?';
/** Acme's objects by GraphQL type: the ids another organization's persona passes. */
const firstOrg: Record<string, string> = {};

beforeAll(async () => {
  dbUrl = await createDatabase('e2e_teams');
  // Inherited by the auth process (scripts/lib/processes.ts passes process.env through): see ROTATION_LEAD_S.
  process.env.AUTH_KEY_PUBLISH_LEAD_SECONDS = String(ROTATION_LEAD_S);
  stack = await startTestStack('teams', dbUrl, {
    demo: { email: 'demo@teams.example', password: 'correct-horse-battery-9', orgName: 'Demo Org' },
    loadDemoTables: false,
  });
  gw = `${stack.gatewayUrl}/graphql`;
  wsUrl = gw.replace('http', 'ws');

  owner = await signup('olivia', 'Acme');
  // The ANALYST key of "Done when" uploads first, as a bearer at the gateway, so that its run loads while the
  // matrix runs; the test below checks every step of it.
  pipelineKey = await apiKey(owner, 'ANALYST', 'nightly pipeline');
  const asKey = bearer(pipelineKey.secret);
  keyUpload.created = await post(
    gw,
    `mutation($i: CreateUploadInput!) { createUpload(input: $i) { url headers upload { id status } } }`,
    { i: { table: 'measurements', fileName: 'measurements.csv', format: 'CSV', sizeBytes: Buffer.byteLength(CSV) } },
    asKey,
  );
  const ticket = keyUpload.created.data?.createUpload;
  if (ticket) {
    keyUpload.putStatus = (await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: CSV })).status;
    keyUpload.completed = await post(
      gw,
      `mutation($id: ID!) { completeUpload(id: $id) { status run { id state } } }`,
      { id: ticket.upload.id },
      asKey,
    );
  }

  const conv = async (title: string) =>
    (await must(`mutation($t: String!) { createConversation(title: $t) { id } }`, { t: title }, bearer(owner.token)))
      .createConversation.id as string;
  sharedConversation = await conv('Sensor readings');
  privateConversation = await conv('Owner notes');
  const sent = await must(
    `mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) { userMessage { id } } }`,
    { c: sharedConversation, t: sharedQuestion },
    bearer(owner.token),
  );
  await must(
    `mutation($id: ID!) { shareConversation(id: $id, shared: true) { shared } }`,
    { id: sharedConversation },
    bearer(owner.token),
  );
  const pending = await must(INVITE, { e: email('pending'), r: 'VIEWER' }, bearer(owner.token));
  Object.assign(firstOrg, {
    Organization: owner.orgId,
    User: owner.userId,
    Conversation: sharedConversation,
    Message: sent.sendMessage.userMessage.id,
    Upload: ticket?.upload.id ?? randomUUID(),
    PipelineRun: keyUpload.completed?.data?.completeUpload.run.id ?? randomUUID(),
    Invitation: pending.inviteMember.invitation.id,
    LakeTable: 'measurements',
  });
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  process.stderr.write(`[teams] file ran ${((Date.now() - fileStarted) / 1000).toFixed(1)} s\n`);
});

// ======================================================================================================
// 1. The persona matrix
// ======================================================================================================

/** One call of the matrix: a root field through the gateway, or an entity through `_entities` on a subgraph. */
type Call = {
  /** The permission table's key: `Query.me`, `Subscription.messageEvents`, `Entity.User`. */
  key: string;
  via: 'http' | 'ws' | 'entities';
  /** The subgraph's GraphQL URL (entities only). */
  url?: string;
  /** Runs last, with fresh credentials: a mutation without required arguments (signOut, leaveOrganization, ...). */
  sessionEnding: boolean;
  /** The operation and its variables for a persona; `usesFirstOrg`: an argument names one of Acme's objects. */
  build(otherOrg: boolean): { query: string; variables: Record<string, unknown>; usesFirstOrg: boolean };
  /** The field whose value the answer carries (`_entities` for entities). */
  field: string;
};

/** The calls of the matrix, and the keys (`Query.me`, `Entity.User`) of the root fields and entities they cover. */
type Matrix = { rootKeys: string[]; entityKeys: string[]; calls: Call[] };

/**
 * Composes the supergraph from the SDL each running subgraph serves (`_service { sdl }`, public: what it really
 * enforces, rules in the descriptions) with the gateway's composition, and reads from it the API schema and, from
 * the `@join__type(graph:, key:)` directives, which subgraph resolves which entity by which key.
 */
async function composeRunningSupergraph() {
  const defs = [];
  for (const name of ['auth', 'chat', 'lake', 'graph'] as const) {
    const url = `${stack.urls[name]}/graphql`;
    const r = await post(url, '{ _service { sdl } }');
    expect(r.errors, `${name} _service`).toBeUndefined();
    defs.push({ name, url, sdl: r.data!._service.sdl as string });
  }
  const { supergraphSdl } = composeSupergraph(defs);
  const api = Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();
  const doc = parse(supergraphSdl);
  const arg = (d: ConstDirectiveNode, n: string) => d.arguments?.find((a) => a.name.value === n)?.value;
  const graphUrl = new Map<string, string>();
  const entities: { type: string; url: string; keyFields: string[] }[] = [];
  for (const def of doc.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === 'join__Graph')
      for (const v of def.values ?? []) {
        const g = v.directives?.find((d) => d.name.value === 'join__graph');
        const url = g && arg(g, 'url');
        if (url?.kind === Kind.STRING) graphUrl.set(v.name.value, url.value);
      }
  }
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    for (const d of def.directives ?? []) {
      const key = d.name.value === 'join__type' ? arg(d, 'key') : undefined;
      const graph = arg(d, 'graph');
      const resolvable = arg(d, 'resolvable');
      if (key?.kind !== Kind.STRING || graph?.kind !== Kind.ENUM) continue;
      if (resolvable?.kind === Kind.BOOLEAN && !resolvable.value) continue;
      entities.push({ type: def.name.value, url: graphUrl.get(graph.value)!, keyFields: key.value.split(/\s+/) });
    }
  }
  return { api, entities };
}

/** An argument named like this holds the id of an object of that type (`id` itself: the field's return type). */
const ID_ARGUMENT_TYPES: Record<string, string> = {
  conversationId: 'Conversation',
  messageId: 'Message',
  runId: 'PipelineRun',
  uploadId: 'Upload',
  userId: 'User',
  orgId: 'Organization',
  invitationId: 'Invitation',
};

/**
 * Public fields whose contract answers UNAUTHENTICATED for made-up credentials (that is their job): the matrix gives
 * them real ones, so that "let through" and "refused" differ. Made at each call (a refresh token is single-use).
 */
const REAL_ARGUMENTS: Record<string, () => Promise<Record<string, unknown>>> = {
  'Mutation.login': async () => ({ email: probe.email, password: PASSWORD }),
  'Mutation.refreshToken': async () => ({
    refreshToken: (await must(LOGIN, { e: probe.email, p: PASSWORD })).login.refreshToken,
  }),
  'Mutation.exchangeApiKey': async () => ({ key: probe.key }),
};
let probe: { email: string; key: string };

/**
 * A small valid value of an input type, built from the schema: a fresh UUID for ID, a short string, 1, false, the
 * LAST value of an enum (for Role the weakest, VIEWER: granting it never exceeds the caller's own role, so no
 * business rule answers FORBIDDEN where the guard let the call through), one element for a list, and the required
 * fields of an input object, recursively. `idFor` may give a real id instead.
 */
function dummyValue(type: GraphQLInputType, idFor: () => string | undefined): unknown {
  if (type instanceof GraphQLNonNull) return dummyValue(type.ofType, idFor);
  if (type instanceof GraphQLList) return [dummyValue(type.ofType, idFor)];
  if (type instanceof GraphQLEnumType) return type.getValues().at(-1)!.value;
  if (type instanceof GraphQLInputObjectType)
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => f.type instanceof GraphQLNonNull && f.defaultValue === undefined)
        .map((f) => [f.name, dummyValue(f.type, () => undefined)]),
    );
  const scalar = (type as GraphQLScalarType).name;
  if (scalar === 'ID') return idFor() ?? randomUUID();
  if (scalar === 'String') return idFor() ?? 'probe';
  if (scalar === 'Int' || scalar === 'Float') return 1;
  if (scalar === 'Boolean') return false;
  if (scalar === 'DateTime') return new Date(Date.now() + 86_400_000).toISOString();
  if (scalar === 'JSON') return {};
  return 'probe';
}

/**
 * The selection another organization's persona makes: `__typename` and every ID-typed field reachable within `depth`
 * levels through fields without required arguments, so that a list answering Acme's rows shows their ids.
 */
function idSelection(type: GraphQLNamedType, depth: number): string {
  if (!(type instanceof GraphQLObjectType)) return '{ __typename }';
  const parts = ['__typename'];
  for (const f of Object.values(type.getFields())) {
    if (f.args.some((a) => a.type instanceof GraphQLNonNull && a.defaultValue === undefined)) continue;
    const named = getNamedType(f.type);
    if (named.name === 'ID') parts.push(f.name);
    else if (depth > 1 && named instanceof GraphQLObjectType) {
      const sub = idSelection(named, depth - 1);
      if (sub !== '{ __typename }') parts.push(`${f.name} ${sub}`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

/** The operation of one root field: its required arguments as variables, `__typename` on a composite result. */
function rootCall(kind: 'query' | 'mutation' | 'subscription', root: GraphQLObjectType, f: GraphQLField<any, any>) {
  const required = f.args.filter((a) => a.type instanceof GraphQLNonNull && a.defaultValue === undefined);
  const decl = required.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = required.map((a) => `${a.name}: $${a.name}`).join(', ');
  const named = getNamedType(f.type);
  const returns = named.name;
  const head = `${kind} Probe${decl ? `(${decl})` : ''} { ${f.name}${args ? `(${args})` : ''}`;
  const query = `${head}${isCompositeType(named) ? ' { __typename }' : ''} }`;
  const otherOrgQuery = `${head}${isCompositeType(named) ? ` ${idSelection(named, 4)}` : ''} }`;
  const key = `${root.name}.${f.name}`;
  return {
    key,
    field: f.name,
    via: kind === 'subscription' ? ('ws' as const) : ('http' as const),
    sessionEnding: kind === 'mutation' && required.length === 0,
    build(otherOrg: boolean) {
      let usesFirstOrg = false;
      const variables = Object.fromEntries(
        required.map((a) => {
          // Another organization's persona passes Acme's real ids (and table name) where an argument names one.
          const idFor = () => {
            if (!otherOrg) return undefined;
            const scalar = getNamedType(a.type).name;
            const type =
              scalar === 'ID'
                ? a.name === 'id'
                  ? returns
                  : ID_ARGUMENT_TYPES[a.name]
                : a.name === 'name' && /table/i.test(f.name)
                  ? 'LakeTable'
                  : undefined;
            const id = type ? firstOrg[type] : undefined;
            if (id) usesFirstOrg = true;
            return id;
          };
          return [a.name, dummyValue(a.type, idFor)];
        }),
      );
      return { query: otherOrg ? otherOrgQuery : query, variables, usesFirstOrg };
    },
  };
}

function buildMatrix(api: GraphQLSchema, entities: { type: string; url: string; keyFields: string[] }[]): Matrix {
  const calls: Call[] = [];
  for (const [kind, root] of [
    ['query', api.getQueryType()],
    ['mutation', api.getMutationType()],
    ['subscription', api.getSubscriptionType()],
  ] as const) {
    if (!root) continue;
    for (const f of Object.values(root.getFields())) calls.push(rootCall(kind, root, f));
  }
  for (const e of entities) {
    const type = api.getType(e.type) as GraphQLObjectType;
    calls.push({
      key: `Entity.${e.type}`,
      field: '_entities',
      via: 'entities',
      url: e.url,
      sessionEnding: false,
      build(otherOrg) {
        const rep: Record<string, unknown> = { __typename: e.type };
        for (const k of e.keyFields)
          rep[k] =
            otherOrg && firstOrg[e.type] && k === 'id'
              ? firstOrg[e.type]
              : dummyValue(type.getFields()[k]!.type as GraphQLInputType, () => undefined);
        return {
          query: `query Probe($r: [_Any!]!) { _entities(representations: $r) { __typename ... on ${e.type} { ${e.keyFields.join(' ')} } } }`,
          variables: { r: [rep] },
          usesFirstOrg: otherOrg && Boolean(firstOrg[e.type]),
        };
      },
    });
  }
  return {
    rootKeys: calls.filter((c) => c.via !== 'entities').map((c) => c.key),
    entityKeys: calls.filter((c) => c.via === 'entities').map((c) => c.key),
    calls,
  };
}

/** Authorization header values of a persona: at the gateway (HTTP and WebSocket) and at a subgraph directly. */
type Credential = { gateway?: string; subgraph?: string };
type Persona = {
  name: string;
  /**
   * `refused`: a credential no service may accept; `anonymous`: none; `live`: a live principal with `role` (for an
   * API key the weaker of its role and its creator's).
   */
  kind: 'refused' | 'anonymous' | 'live';
  role?: Role;
  apiKey?: boolean;
  /** Passes Acme's real ids: expects NOT_FOUND, or no data of Acme. */
  otherOrg?: boolean;
  credential: Credential;
  /** A new principal like this one (its own user and organization), for one session-ending call. */
  fresh?: () => Promise<Credential>;
};

/** What one call is expected to answer, from the permission table. */
type Expected =
  | { outcome: 'UNAUTHENTICATED' }
  | { outcome: 'FORBIDDEN'; requiredRole?: Role; requiredCredential?: 'session' }
  | { outcome: 'NOT_FOUND' }
  | { outcome: 'ALLOWED' };

/**
 * The expectation of `persona` calling the field or entity `key`, from PERMISSIONS, PASSWORD_SESSION_ONLY and
 * roleAtLeast alone: bad credentials are UNAUTHENTICATED whatever the field; without a token only PUBLIC fields
 * run; an API key is FORBIDDEN on fields that need a password sign-in; a weaker role is FORBIDDEN naming the rule's
 * role; another organization's call naming Acme's objects is NOT_FOUND (an entity reference of Acme's answers null:
 * checked as "no data of Acme" for every call of that persona). Nothing is public through `_entities` (guard.ts: an
 * empty or public list still needs a token).
 */
function expected(persona: Persona, key: string, rule: Rule, usesFirstOrg: boolean): Expected {
  // A public field runs whatever credential comes with it (a refused one included: a client that always attaches its
  // token can still log in); everything else needs an accepted one.
  if (persona.kind === 'refused' || persona.kind === 'anonymous')
    return rule === 'PUBLIC' && !key.startsWith('Entity.') ? { outcome: 'ALLOWED' } : { outcome: 'UNAUTHENTICATED' };
  if (persona.apiKey && PASSWORD_SESSION_ONLY.has(key)) return { outcome: 'FORBIDDEN', requiredCredential: 'session' };
  if (rule !== 'PUBLIC' && rule !== 'AUTHENTICATED' && !roleAtLeast(persona.role!, rule))
    return { outcome: 'FORBIDDEN', requiredRole: rule };
  return usesFirstOrg && !key.startsWith('Entity.') ? { outcome: 'NOT_FOUND' } : { outcome: 'ALLOWED' };
}

/** What came back: error codes, FORBIDDEN's extensions, whether the field carries data, the raw body for messages. */
type Observed = { codes: string[]; ext: Record<string, unknown>; data: unknown; raw: string };

async function observe(call: Call, op: ReturnType<Call['build']>, credential: Credential): Promise<Observed> {
  if (call.via === 'ws') {
    const r = await collectSubscription(
      wsUrl,
      op.query,
      op.variables,
      credential.gateway ? { authorization: credential.gateway } : {},
      15_000,
    );
    const errors = [...r.events.flatMap((e) => e.errors ?? []), ...r.errors.flat()] as {
      extensions?: Record<string, unknown>;
    }[];
    const codes = errors.flatMap((e) => (e?.extensions?.code ? [String(e.extensions.code)] : []));
    if (r.closeCode === 4401) codes.push('UNAUTHENTICATED');
    const data = r.events.map((e) => e.data?.[call.field]).find((d) => d != null) ?? null;
    const ext = errors.find((e) => e?.extensions?.code === 'FORBIDDEN')?.extensions ?? {};
    return { codes, ext, data, raw: JSON.stringify(r).slice(0, 400) };
  }
  const url = call.via === 'entities' ? call.url! : gw;
  const r = await post(url, op.query, op.variables, call.via === 'entities' ? credential.subgraph : credential.gateway);
  const ext = r.errors?.find((e) => e.extensions?.code === 'FORBIDDEN')?.extensions ?? {};
  let data = r.data?.[call.field] ?? null;
  if (call.via === 'entities' && Array.isArray(data) && data.every((d) => d === null)) data = null;
  return { codes: codesOf(r), ext, data, raw: JSON.stringify(r).slice(0, 400) };
}

/** Why `got` does not meet `want`, or undefined when it does. */
function verdict(want: Expected, got: Observed, persona: Persona): string | undefined {
  const leaked = Object.values(firstOrg).filter((id) => JSON.stringify(got.data ?? null).includes(id));
  if (persona.otherOrg && leaked.length) return `data of the first organization: ${leaked.join(', ')}`;
  switch (want.outcome) {
    case 'UNAUTHENTICATED':
      if (!got.codes.includes('UNAUTHENTICATED') || got.data !== null) return 'expected UNAUTHENTICATED, no data';
      return undefined;
    case 'FORBIDDEN':
      if (got.codes[0] !== 'FORBIDDEN' || got.data !== null) return `expected FORBIDDEN, no data`;
      if (want.requiredRole && got.ext.requiredRole !== want.requiredRole)
        return `expected requiredRole ${want.requiredRole}`;
      if (want.requiredCredential && got.ext.requiredCredential !== want.requiredCredential)
        return `expected requiredCredential ${want.requiredCredential}`;
      return undefined;
    case 'NOT_FOUND':
      if (!got.codes.includes('NOT_FOUND') || got.data !== null) return 'expected NOT_FOUND, no data';
      return undefined;
    case 'ALLOWED': {
      const bad = got.codes.filter((c) => c === 'UNAUTHENTICATED' || c === 'FORBIDDEN' || c === 'INTERNAL');
      return bad.length
        ? `expected to be let through (any answer but UNAUTHENTICATED, FORBIDDEN, INTERNAL)`
        : undefined;
    }
  }
}

/** Signs `claims` as the auth subgraph would, with its current signing key read (and opened) from its table. */
async function signWithAuthKey(claims: Record<string, unknown>) {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  const row = (
    await db.query(
      `SELECT kid, private_key_sealed FROM auth.signing_keys WHERE activates_at <= now() ORDER BY activates_at DESC LIMIT 1`,
    )
  ).rows[0];
  await db.end();
  const jwk = openPrivateJwk(KEK, row.kid, row.private_key_sealed);
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: row.kid }).sign(await importJWK(jwk, 'EdDSA'));
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** The eighteen personas of issue 6, section 8. */
async function makePersonas(): Promise<Persona[]> {
  const now = Math.floor(Date.now() / 1000);
  // Forgeries carry the claims of Acme's live OWNER session: accepted, any of them would be allowed everything.
  const live = decodeJwt(owner.token);
  const claims = {
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE,
    sub: owner.userId,
    org: owner.orgId,
    role: 'OWNER',
    sid: live.sid,
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
  };
  const kid = decodeProtectedHeader(owner.token).kid!;
  const jwks = (await (await fetch(`${stack.urls.auth}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  const publicPem = createPublicKey({ key: jwks.keys.find((k) => k.kid === kid)! as never, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const forged = async (token: Promise<string> | string): Promise<Credential> => {
    const t = await token;
    return { gateway: bearer(t), subgraph: bearer(t) };
  };

  // A revoked session: signed up into Acme, signed out at the auth subgraph (no service has it cached as live).
  const sam = await invited(owner, 'sam', 'VIEWER');
  const out = await post(`${stack.urls.auth}/graphql`, 'mutation { signOut }', {}, bearer(sam.token));
  expect(out.data).toEqual({ signOut: true });
  // A removed member, its token never used before the removal.
  const rem = await invited(owner, 'rem', 'ANALYST');
  await must(`mutation($u: ID!) { removeMember(userId: $u) }`, { u: rem.userId }, bearer(owner.token));
  // A revoked API key: exchanged first (the token a subgraph is shown), then revoked.
  const revoked = await apiKey(owner, 'ANALYST', 'revoked key');
  await must(`mutation($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: revoked.id }, bearer(owner.token));
  firstOrg.ApiKey = revoked.id;

  const member = (role: Role, label: string) => async (): Promise<Credential> => {
    const a = await memberWithRole(role, label);
    return { gateway: bearer(a.token), subgraph: bearer(a.token) };
  };
  const liveKey = async (): Promise<Credential> => {
    const creator = await signup('kate', 'Keyed org');
    const k = await apiKey(creator, 'ADMIN', 'matrix key');
    return { gateway: bearer(k.secret), subgraph: bearer(k.token) };
  };
  const livePersona = async (p: Omit<Persona, 'credential' | 'kind'> & { fresh: () => Promise<Credential> }) =>
    ({ ...p, kind: 'live', credential: await p.fresh() }) as Persona;

  return [
    { name: 'no token', kind: 'anonymous', credential: {} },
    { name: 'malformed token', kind: 'refused', credential: await forged('not.a-jwt.at-all') },
    {
      name: 'alg none',
      kind: 'refused',
      credential: await forged(`${b64url({ alg: 'none', typ: 'JWT', kid })}.${b64url(claims)}.`),
    },
    {
      name: 'HS256 with the JWKS public key as secret',
      kind: 'refused',
      credential: await forged(
        new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(Buffer.from(publicPem)),
      ),
    },
    {
      name: 'unknown key with a known kid',
      kind: 'refused',
      credential: await forged(new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid }).sign(stranger.privateKey)),
    },
    {
      name: 'expired',
      kind: 'refused',
      credential: await forged(signWithAuthKey({ ...claims, iat: now - 1500, exp: now - 600 })),
    },
    {
      name: 'not yet valid (nbf)',
      kind: 'refused',
      credential: await forged(signWithAuthKey({ ...claims, nbf: now + 600, exp: now + 900 })),
    },
    {
      name: 'wrong issuer',
      kind: 'refused',
      credential: await forged(signWithAuthKey({ ...claims, iss: 'someone-else' })),
    },
    {
      name: 'wrong audience',
      kind: 'refused',
      credential: await forged(signWithAuthKey({ ...claims, aud: 'another-api' })),
    },
    { name: 'revoked session', kind: 'refused', credential: await forged(sam.token) },
    { name: 'removed member', kind: 'refused', credential: await forged(rem.token) },
    {
      name: 'revoked API key',
      kind: 'refused',
      credential: { gateway: bearer(revoked.secret), subgraph: bearer(revoked.token) },
    },
    await livePersona({ name: 'another organization', role: 'OWNER', otherOrg: true, fresh: member('OWNER', 'bob') }),
    await livePersona({ name: 'OWNER', role: 'OWNER', fresh: member('OWNER', 'owner') }),
    await livePersona({ name: 'ADMIN', role: 'ADMIN', fresh: member('ADMIN', 'admin') }),
    await livePersona({ name: 'ANALYST', role: 'ANALYST', fresh: member('ANALYST', 'analyst') }),
    await livePersona({ name: 'VIEWER', role: 'VIEWER', fresh: member('VIEWER', 'viewer') }),
    await livePersona({ name: 'live API key (ADMIN)', role: 'ADMIN', apiKey: true, fresh: liveKey }),
  ];
}

/** Runs `tasks` with at most `n` at once. */
async function inParallel<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

describe('the persona matrix (issue 6, section 8)', () => {
  let matrix: Matrix;
  beforeAll(async () => {
    const probeOwner = await signup('pat', 'Probe org');
    probe = { email: probeOwner.email, key: (await apiKey(probeOwner, 'VIEWER', 'probe key')).secret };
    const { api, entities } = await composeRunningSupergraph();
    matrix = buildMatrix(api, entities);
  });

  it('covers a supergraph whose every root field and entity has a rule, the gateway serving the same fields', async () => {
    const missing = [...matrix.rootKeys, ...matrix.entityKeys].filter(
      (k) => !Object.prototype.hasOwnProperty.call(PERMISSIONS, k),
    );
    expect(missing, 'root fields and entities without a line in PERMISSIONS').toEqual([]);
    // And the other way: no rule for a field that no subgraph has (a stale line misleads whoever reads the table).
    // `_service` is each subgraph's own field, kept out of the supergraph.
    const known = new Set([...matrix.rootKeys, ...matrix.entityKeys, 'Query._service']);
    expect(
      Object.keys(PERMISSIONS).filter((k) => !known.has(k)),
      'rules without a field',
    ).toEqual([]);
    // The gateway composes from the subgraphs' schema files; it must serve what the running subgraphs compose to.
    const r = await post(
      gw,
      `{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }`,
    );
    const s = r.data!.__schema;
    const served = [
      ...s.queryType.fields.map((f: { name: string }) => `Query.${f.name}`),
      ...s.mutationType.fields.map((f: { name: string }) => `Mutation.${f.name}`),
      ...s.subscriptionType.fields.map((f: { name: string }) => `Subscription.${f.name}`),
    ];
    expect(served.sort()).toEqual([...matrix.rootKeys].sort());
    // Every entity: the types the subgraphs' schema files declare with @key (read here without GraphQL tooling).
    const files = ['auth', 'chat', 'lake', 'graph'].map((name) => path.join('subgraphs', name, 'schema.graphql'));
    const declared = [...files, 'subgraphs/graph/federation.graphql'].flatMap((file) => {
      const sdl = readFileSync(path.join(REPO_ROOT, file), 'utf8').replace(/#.*$/gm, '');
      return [...sdl.matchAll(/^type\s+(\w+)[^{]*@key\b/gm)].map((m) => `Entity.${m[1]}`);
    });
    expect(declared.length).toBeGreaterThan(0);
    // An entity several subgraphs resolve (Organization) is probed at each of them: compare the sets.
    expect([...new Set(matrix.entityKeys)].sort()).toEqual([...new Set(declared)].sort());
  });

  it('answers every call of every persona as the permission table says', async () => {
    const personas = await makePersonas();
    expect(personas).toHaveLength(18);
    // Session-ending mutations last, each with a principal of its own (so that none disturbs the next call).
    const calls = [...matrix.calls].sort((a, b) => Number(a.sessionEnding) - Number(b.sessionEnding));
    const failures: string[] = [];
    const counts: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    const started = Date.now();
    await inParallel(
      6,
      personas.map((persona) => async () => {
        for (const call of calls) {
          const rule = PERMISSIONS[call.key];
          if (!rule) {
            failures.push(`${call.key}: no rule in PERMISSIONS`);
            continue;
          }
          const op = call.build(Boolean(persona.otherOrg));
          const real = REAL_ARGUMENTS[call.key];
          if (real) Object.assign(op.variables, await real());
          const credential = call.sessionEnding && persona.fresh ? await persona.fresh() : persona.credential;
          const want = expected(persona, call.key, rule, op.usesFirstOrg);
          const got = await observe(call, op, credential);
          counts[persona.name] = (counts[persona.name] ?? 0) + 1;
          const label = `${want.outcome}→${got.codes.join('+') || 'ok'}`;
          outcomes[label] = (outcomes[label] ?? 0) + 1;
          const why = verdict(want, got, persona);
          if (why) failures.push(`${persona.name} × ${call.key} (${call.via}): ${why}; got ${got.raw}`);
        }
      }),
    );
    process.stderr.write(
      `[teams] matrix: ${calls.length} calls per persona (${matrix.rootKeys.length} root fields, ` +
        `${matrix.entityKeys.length} entities), ${personas.length} personas, ` +
        `${Object.values(counts).reduce((a, b) => a + b, 0)} calls in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
        `[teams] matrix outcomes (expected→codes): ${JSON.stringify(outcomes)}\n`,
    );
    expect(failures).toEqual([]);
    for (const p of personas) expect(counts[p.name], p.name).toBe(calls.length);
  }, 180_000);
});

// ======================================================================================================
// 2. Done when (issue 6), through the gateway
// ======================================================================================================

describe('a team through the gateway (issue 6, done when)', () => {
  let vic: Account;
  const asOwner = () => bearer(owner.token);

  it('an ANALYST API key, sent as a bearer to the gateway, uploads a CSV and starts its run, which loads it', async () => {
    expect(keyUpload.created?.errors).toBeUndefined();
    expect(keyUpload.created!.data!.createUpload.upload.status).toBe('PENDING');
    expect(keyUpload.putStatus).toBe(200);
    expect(keyUpload.completed?.errors).toBeUndefined();
    const done = keyUpload.completed!.data!.completeUpload;
    expect(done.status).toBe('UPLOADED');
    expect(['PENDING', 'QUEUED', 'RUNNING', 'SUCCESS']).toContain(done.run.state);
    // The key acts as its creator: the upload is Acme's, read with the owner's own session.
    const seen = await must(`{ uploads { edges { node { id } } } }`, {}, asOwner());
    expect(seen.uploads.edges.map((e: any) => e.node.id)).toEqual([firstOrg.Upload]);
    let state = '';
    const waited = await until(
      async () => {
        const r = await must(
          `query($id: ID!) { pipelineRun(id: $id) { state error { code message } } }`,
          { id: done.run.id },
          bearer(pipelineKey.secret),
        );
        state = r.pipelineRun.state;
        return state === 'SUCCESS' || state === 'FAILED';
      },
      180_000,
      1_000,
    );
    process.stderr.write(`[teams] the key's run ended ${state} (${(waited / 1000).toFixed(1)} s after the matrix)\n`);
    expect(state).toBe('SUCCESS');
  }, 200_000);

  it('an invited VIEWER reads the tables and the shared conversation, and is refused asking, uploading and inviting', async () => {
    const e = email('vic');
    const inv = (await must(INVITE, { e, r: 'VIEWER' }, asOwner())).inviteMember;
    expect(inv.token).toMatch(/^dp_inv_[A-Za-z0-9_-]{43}$/);
    const d = (await must(SIGNUP, { i: { email: e, password: PASSWORD, invitationToken: inv.token } })).signup;
    vic = {
      email: e,
      userId: d.user.id,
      orgId: d.organization.id,
      token: d.accessToken,
      refreshToken: d.refreshToken,
    };
    const asVic = bearer(vic.token);
    const me = await must(`{ me { role organization { id name } } }`, {}, asVic);
    expect(me.me).toEqual({ role: 'VIEWER', organization: { id: owner.orgId, name: 'Acme' } });

    const tables = await must(`{ lakeTables { name rowCount columns { name } } }`, {}, asVic);
    expect(tables.lakeTables).toEqual([
      { name: 'measurements', rowCount: CSV_ROWS, columns: [{ name: 'sensor' }, { name: 'reading' }] },
    ]);
    // The rows of the CSV, read by hand (ordered by every column, ascending: the sensors are in order already).
    const expectedRows = CSV.trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','))
      .map(([sensor, reading]) => ({ sensor, reading: Number(reading) }));
    const rows = await must(`{ lakeTable(name: "measurements") { rows { edges { node } } } }`, {}, asVic);
    expect(rows.lakeTable.rows.edges.map((e: any) => e.node)).toEqual(expectedRows);
    const datasets = await must(`{ datasets { name rowCount } }`, {}, asVic);
    expect(datasets.datasets).toEqual([{ name: 'measurements', rowCount: CSV_ROWS }]);
    const shared = await must(
      `query($id: ID!) { conversation(id: $id) { title shared messages { edges { node { role text } } } } }`,
      { id: sharedConversation },
      asVic,
    );
    expect(shared.conversation.title).toBe('Sensor readings');
    expect(shared.conversation.shared).toBe(true);
    expect(shared.conversation.messages.edges[0].node).toEqual({ role: 'USER', text: sharedQuestion });
    const list = await must(`{ conversations { edges { node { id } } } }`, {}, asVic);
    expect(list.conversations.edges.map((x: any) => x.node.id)).toEqual([sharedConversation]);
    const secret = await post(
      gw,
      `query($id: ID!) { conversation(id: $id) { id } }`,
      { id: privateConversation },
      asVic,
    );
    expect([codesOf(secret), secret.data?.conversation]).toEqual([['NOT_FOUND'], null]);

    const refused = async (query: string, variables: Record<string, unknown>) => {
      const r = await post(gw, query, variables, asVic);
      return [codesOf(r), r.errors?.[0]?.extensions?.requiredRole, r.data];
    };
    expect(
      await refused(
        `mutation($c: ID!) { sendMessage(conversationId: $c, text: "Mean reading?") { userMessage { id } } }`,
        {
          c: sharedConversation,
        },
      ),
    ).toEqual([['FORBIDDEN'], 'ANALYST', null]);
    expect(
      await refused(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { url } }`, {
        i: { table: 'more', fileName: 'more.csv', format: 'CSV', sizeBytes: 10 },
      }),
    ).toEqual([['FORBIDDEN'], 'ANALYST', null]);
    expect(
      await refused(`mutation($e: String!) { inviteMember(email: $e, role: VIEWER) { token } }`, { e: email('x') }),
    ).toEqual([['FORBIDDEN'], 'ADMIN', null]);
  });

  it('promoted to ANALYST, the colleague can ask within the principal cache period', async () => {
    const asVic = bearer(vic.token);
    const promoted = await must(
      `mutation($u: ID!) { updateMemberRole(userId: $u, role: ANALYST) { role } }`,
      { u: vic.userId },
      asOwner(),
    );
    expect(promoted.updateMemberRole.role).toBe('ANALYST');
    const unexpected: string[] = [];
    let conversation: string | undefined;
    let asked: any;
    const delay = await until(async () => {
      if (!conversation) {
        const c = await post(gw, `mutation { createConversation(title: "Mine") { id } }`, {}, asVic);
        conversation = c.data?.createConversation?.id;
        if (!conversation) unexpected.push(...codesOf(c).filter((x) => x !== 'FORBIDDEN'));
        if (!conversation) return false;
      }
      const r = await post(
        gw,
        `mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) { assistantMessage { id status } } }`,
        { c: conversation, t: 'How many rows does measurements have?' },
        asVic,
      );
      unexpected.push(...codesOf(r).filter((x) => x !== 'FORBIDDEN'));
      asked = r.data?.sendMessage;
      return Boolean(asked);
    }, ISSUE_BOUND_MS + 5_000);
    process.stderr.write(`[teams] promotion VIEWER→ANALYST took effect after ${(delay / 1000).toFixed(1)} s\n`);
    expect(unexpected).toEqual([]);
    expect(asked.assistantMessage.status).toMatch(/^(PENDING|STREAMING|COMPLETE)$/);
    expect(delay).toBeLessThan(ISSUE_BOUND_MS);
    expect(delay).toBeLessThan(PRINCIPAL_TTL_MS + 5_000);
  }, 60_000);

  it('removed, the colleague is refused, and the revoked API key stops working, both within the cache period', async () => {
    const asVic = bearer(vic.token);
    const asKey = bearer(pipelineKey.secret);
    // One read per subgraph, each its own request (a refused non-null root field nulls a whole response).
    const READS: Record<string, string> = {
      auth: `{ me { role } }`,
      chat: `{ conversations { edges { node { id } } } }`,
      lake: `{ lakeTables { name } }`,
      graph: `{ datasets { name } }`,
    };
    // Both work right before, so that every service holds them as live in its cache.
    for (const who of [asVic, asKey])
      for (const q of Object.values(READS)) expect((await post(gw, q, {}, who)).errors).toBeUndefined();
    // An open WebSocket of the colleague's, closed with 4401 once the removal reaches the gateway.
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    const acked = new Promise<void>((resolve) => {
      socket.on('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: asVic } })),
      );
      socket.on('message', (m) => JSON.parse(String(m)).type === 'connection_ack' && resolve());
    });
    const closed = new Promise<{ code: number; at: number }>((resolve) =>
      socket.on('close', (code) => resolve({ code, at: Date.now() })),
    );
    await acked;

    // Polls the reads until the gateway refuses each of them before planning (401), noting when each was first
    // refused (auth has no cache: it refuses `me` at once; the others once the gateway's cached answer expires).
    const refusedEverywhere = (authorization: string, firstRefusal: Record<string, number>, t0: number) => async () => {
      const answers = await Promise.all(
        Object.entries(READS).map(async ([subgraph, q]) => [subgraph, await post(gw, q, {}, authorization)] as const),
      );
      for (const [subgraph, r] of answers) {
        if (r.errors?.some((e) => e.extensions?.code !== 'UNAUTHENTICATED'))
          throw new Error(`unexpected answer ${JSON.stringify(r.errors)}`);
        if (r.errors?.length && r.data == null) firstRefusal[subgraph] ??= Date.now() - t0;
      }
      return answers.every(([, r]) => r.status === 401 && codesOf(r).join() === 'UNAUTHENTICATED' && r.data == null);
    };
    const removal = (async () => {
      expect(
        (await must(`mutation($u: ID!) { removeMember(userId: $u) }`, { u: vic.userId }, asOwner())).removeMember,
      ).toBe(true);
      const t0 = Date.now();
      const first: Record<string, number> = {};
      const ms = await until(refusedEverywhere(asVic, first, t0), ISSUE_BOUND_MS + 5_000);
      const ws = await closed;
      return { ms, first, ws: { code: ws.code, ms: ws.at - t0 } };
    })();
    const revocation = (async () => {
      const r = await must(
        `mutation($id: ID!) { revokeApiKey(id: $id) { status } }`,
        { id: pipelineKey.id },
        asOwner(),
      );
      expect(r.revokeApiKey.status).toBe('REVOKED');
      const t0 = Date.now();
      const first: Record<string, number> = {};
      return { ms: await until(refusedEverywhere(asKey, first, t0), ISSUE_BOUND_MS + 5_000), first };
    })();
    const [removed, revoked] = await Promise.all([removal, revocation]);
    process.stderr.write(
      `[teams] removal refused by the gateway after ${(removed.ms / 1000).toFixed(1)} s ` +
        `(first refusal per subgraph's read, ms: ${JSON.stringify(removed.first)}); its WebSocket closed ${removed.ws.code} ` +
        `after ${(removed.ws.ms / 1000).toFixed(1)} s\n` +
        `[teams] revoked API key refused after ${(revoked.ms / 1000).toFixed(1)} s ` +
        `(first refusal per subgraph's read, ms: ${JSON.stringify(revoked.first)})\n`,
    );
    for (const ms of [removed.ms, revoked.ms]) {
      expect(ms).toBeLessThan(ISSUE_BOUND_MS);
      expect(ms).toBeLessThan(PRINCIPAL_TTL_MS + 5_000);
    }
    expect(removed.ws.code).toBe(4401);
    expect(removed.ws.ms).toBeLessThan(ISSUE_BOUND_MS);
    // A refused key stays refused: exchanging it directly is refused too.
    const x = await post(`${stack.urls.auth}/graphql`, EXCHANGE, { k: pipelineKey.secret });
    expect(codesOf(x)).toEqual(['UNAUTHENTICATED']);
  }, 60_000);

  it('a signing-key rotation while requests flow through the gateway fails none of them', async () => {
    const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
    const kidsOf = async () =>
      ((await (await fetch(`${stack.urls.auth}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys.map(
        (k) => k.kid,
      );
    const [oldKid] = await kidsOf();
    const READ = `{ me { role } conversations(first: 1) { edges { node { id } } } uploads(first: 1) { edges { node { id } } } datasets { name } }`;
    const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }`;
    const failures: string[] = [];
    const issued: { kid: string; receivedAt: number }[] = [];
    let requests = 0;
    let stopAt = Number.POSITIVE_INFINITY;
    // Four clients, each its own session of Acme's owner: a new access token, then a read through every subgraph
    // with it, over and over; every answer must be complete and without error.
    const client = async () => {
      const l = await post(gw, LOGIN, { e: owner.email, p: PASSWORD });
      requests++;
      if (l.errors) return void failures.push(`login: ${JSON.stringify(l.errors)}`);
      let refreshToken: string = l.data!.login.refreshToken;
      while (Date.now() < stopAt) {
        const r = await post(gw, REFRESH, { t: refreshToken });
        requests++;
        if (r.errors) return void failures.push(`refresh: ${JSON.stringify(r.errors)}`);
        refreshToken = r.data!.refreshToken.refreshToken;
        const token: string = r.data!.refreshToken.accessToken;
        const kid = decodeProtectedHeader(token).kid!;
        issued.push({ kid, receivedAt: Date.now() });
        const q = await post(gw, READ, {}, bearer(token));
        requests++;
        if (q.errors || q.status !== 200) failures.push(`read with ${kid.slice(0, 8)}: ${JSON.stringify(q.errors)}`);
      }
    };
    const t0 = Date.now();
    const running = Promise.all([client(), client(), client(), client()]);
    await new Promise((r) => setTimeout(r, 2_000));
    const rotation = await scheduleKeyRotation(pool, { encryptionKey: KEK, publishLeadSeconds: ROTATION_LEAD_S });
    await pool.end();
    expect(rotation.created).toBe(true);
    expect(await kidsOf()).toEqual([rotation.kid, oldKid]);
    const activatesAt = rotation.activatesAt.getTime();
    // Keep going until well after the new key signs: every verifier meets its kid for the first time under load.
    await new Promise((r) => setTimeout(r, activatesAt + 6_000 - Date.now()));
    stopAt = Date.now();
    await running;
    const seconds = (Date.now() - t0) / 1000;
    const byKid = (k: string) => issued.filter((t) => t.kid === k);
    process.stderr.write(
      `[teams] rotation under load: ${requests} requests in ${seconds.toFixed(1)} s through the gateway, ` +
        `${failures.length} failed; tokens: ${byKid(oldKid!).length} with the old kid, ` +
        `${byKid(rotation.kid).length} with the new (first ${
          byKid(rotation.kid).length ? ((byKid(rotation.kid)[0]!.receivedAt - activatesAt) / 1000).toFixed(1) : '-'
        } s after it activated)\n`,
    );
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(50);
    expect(byKid(oldKid!).length).toBeGreaterThan(0);
    expect(byKid(rotation.kid).length).toBeGreaterThan(0);
    expect(issued.filter((t) => t.kid !== oldKid && t.kid !== rotation.kid)).toEqual([]);
    // No token of the new key before it was meant to sign (auth switches on the database's clock, which it estimates
    // to a round trip: 100 ms of slack).
    for (const t of byKid(rotation.kid)) expect(t.receivedAt).toBeGreaterThanOrEqual(activatesAt - 100);
  }, 60_000);
});
