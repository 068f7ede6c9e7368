// The edge rules of packages/common alone (the gateway's own test, gateway/test/edge.test.ts, runs them against the
// real auth subgraph): CORS_ORIGINS parsing and matching, the development and production defaults on a real
// createGraphQLHttpServer, the HTTP answer of a refused credential (answerRefusedCredential), and how an
// Authorization header is split into scheme and token. Expected values are written out by hand.
import type { Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DataPilotError,
  answerRefusedCredential,
  apolloModeOptions,
  bearerToken,
  closeServer,
  corsAllows,
  createGraphQLHttpServer,
  defaultCorsOrigins,
  listen,
  loadConfig,
  CORS_CONFIG,
} from '../src/index.ts';

describe('CORS_ORIGINS', () => {
  const parse = (raw: string | undefined, env: Record<string, string> = {}) =>
    loadConfig(CORS_CONFIG, { ...env, ...(raw === undefined ? {} : { CORS_ORIGINS: raw }) }).CORS_ORIGINS;

  it('parses exact origins, any-port origins, * and none; unset is undefined (the mode default)', () => {
    expect(parse(' https://app.example.com , http://localhost:* ')).toEqual([
      'https://app.example.com',
      'http://localhost:*',
    ]);
    expect(parse('*')).toEqual(['*']);
    expect(parse('none')).toEqual([]);
    expect(parse(undefined)).toBeUndefined();
    expect(parse('')).toBeUndefined();
  });

  it('refuses what a browser never sends as an origin, naming the variable and the form to write', () => {
    const refusal = (raw: string) => {
      try {
        parse(raw);
        return 'accepted';
      } catch (e) {
        return e instanceof ConfigError ? e.message : `not a ConfigError: ${String(e)}`;
      }
    };
    const tail = '. Separate origins with commas; "*" allows all, "none" none.';
    const notOrigin = (entry: string) =>
      `Invalid configuration:\n  CORS_ORIGINS: "${entry}" is not an origin (scheme://host[:port], or scheme://host:* for any port)`;
    expect(refusal('https://app.example.com/')).toBe(notOrigin('https://app.example.com/') + tail);
    expect(refusal('https://App.Example.com')).toBe(
      notOrigin('https://App.Example.com') + '; write https://app.example.com' + tail,
    );
    expect(refusal('https://app.example.com:443')).toBe(
      notOrigin('https://app.example.com:443') + '; write https://app.example.com' + tail,
    );
    expect(refusal('HTTP://LOCALHOST:*')).toBe(notOrigin('HTTP://LOCALHOST:*') + tail);
    expect(refusal('app.example.com')).toBe(notOrigin('app.example.com') + tail);
    expect(refusal('*, https://app.example.com')).toBe(
      'Invalid configuration:\n  CORS_ORIGINS: "*" allows every origin and stands alone.',
    );
  });

  it('matches exact origins exactly and :* entries on any port of that scheme and host', () => {
    const origins = ['https://app.example.com', 'http://localhost:*'];
    const allowed = [
      'https://app.example.com',
      'http://localhost',
      'http://localhost:5173',
      'http://localhost:65535',
    ].filter((o) => corsAllows(origins, o));
    expect(allowed).toEqual([
      'https://app.example.com',
      'http://localhost',
      'http://localhost:5173',
      'http://localhost:65535',
    ]);
    const others = [
      'https://app.example.com:8443',
      'http://app.example.com',
      'https://app.example.com.evil.example',
      'https://localhost:5173',
      'http://localhost:5173.evil.example',
      'http://localhost:',
      'http://localhostx:80',
      'null',
    ];
    expect(others.filter((o) => !corsAllows(origins, o))).toEqual(others);
    expect(corsAllows(['*'], 'https://anything.example')).toBe(true);
    expect(corsAllows([], 'http://localhost:5173')).toBe(false);
  });

  it('defaults to the Sandbox and local web apps in development, to none in production', () => {
    expect(defaultCorsOrigins(false)).toEqual([
      'https://studio.apollographql.com',
      'http://localhost:*',
      'http://127.0.0.1:*',
    ]);
    expect(defaultCorsOrigins(true)).toEqual([]);
  });
});

describe('createGraphQLHttpServer with the default origins of each mode', () => {
  const servers: Server[] = [];
  const urls: Record<'development' | 'production', string> = { development: '', production: '' };

  beforeAll(async () => {
    for (const mode of ['development', 'production'] as const) {
      const apollo = new ApolloServer({
        schema: buildSchema('type Query { a: Int }'),
        ...apolloModeOptions(mode === 'production'),
      });
      await apollo.start();
      const server = createGraphQLHttpServer({
        apollo,
        context: async () => ({}),
        cors: defaultCorsOrigins(mode === 'production'),
      });
      servers.push(server);
      urls[mode] = `${await listen(server, 0)}/graphql`;
    }
  });
  afterAll(async () => {
    for (const s of servers) await closeServer(s);
  });

  const preflight = (url: string, origin: string) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });

  it('development answers the Sandbox and a local web app on any port; production answers neither', async () => {
    for (const origin of ['https://studio.apollographql.com', 'http://localhost:5173', 'http://127.0.0.1:8080']) {
      const dev = await preflight(urls.development, origin);
      expect([origin, dev.status, dev.headers.get('access-control-allow-origin')]).toEqual([origin, 204, origin]);
      const prod = await preflight(urls.production, origin);
      expect([origin, prod.status, prod.headers.get('access-control-allow-origin')]).toEqual([origin, 403, null]);
    }
  });

  it('answers an OPTIONS without Origin (not a CORS preflight) with 204 and Allow, in both modes', async () => {
    for (const url of [urls.development, urls.production]) {
      const res = await fetch(url, { method: 'OPTIONS' });
      expect([res.status, res.headers.get('allow'), res.headers.get('access-control-allow-origin')]).toEqual([
        204,
        'GET, POST, OPTIONS',
        null,
      ]);
    }
  });
});

describe('answerRefusedCredential', () => {
  const refused = new DataPilotError('UNAUTHENTICATED', 'The access token has expired.');
  /** The guard's refusal of a field for a request without a tenant, as a subgraph behind the gateway answers it. */
  const unauth = (path: string) => ({
    message: 'A valid access token is required.',
    path: [path],
    extensions: { code: 'UNAUTHENTICATED', credential: 'missing' },
  });
  const explained = (path: string) => ({
    message: 'The access token has expired.',
    path: [path],
    extensions: { code: 'UNAUTHENTICATED', credential: 'refused' },
  });

  it('turns an answer whose only errors are UNAUTHENTICATED and whose data is empty into HTTP 401, errors only', () => {
    for (const data of [null, { me: null }, undefined]) {
      const body = JSON.stringify({ ...(data === undefined ? {} : { data }), errors: [unauth('me')] });
      expect(answerRefusedCredential(200, body, refused)).toEqual({
        status: 401,
        body: JSON.stringify({ errors: [explained('me')] }),
      });
    }
  });

  it('keeps the status when something answered or another error occurred, still saying why', () => {
    const partial = JSON.stringify({ data: { login: { accessToken: 't' }, me: null }, errors: [unauth('me')] });
    const out = answerRefusedCredential(200, partial, refused);
    expect(out.status).toBe(200);
    expect(JSON.parse(out.body)).toEqual({
      data: { login: { accessToken: 't' }, me: null },
      errors: [explained('me')],
    });
    const mixed = JSON.stringify({
      data: null,
      errors: [unauth('me'), { message: 'down', extensions: { code: 'UPSTREAM_UNAVAILABLE' } }],
    });
    expect(answerRefusedCredential(200, mixed, refused).status).toBe(200);
  });

  it("leaves a public field's own UNAUTHENTICATED (no `credential`: a wrong password) as it is, status included", () => {
    const own = { message: 'Invalid email or password.', path: ['login'], extensions: { code: 'UNAUTHENTICATED' } };
    const body = JSON.stringify({ data: null, errors: [own] });
    expect(answerRefusedCredential(200, body, refused)).toEqual({ status: 200, body });
    const both = answerRefusedCredential(200, JSON.stringify({ data: null, errors: [own, unauth('me')] }), refused);
    expect([both.status, JSON.parse(both.body)]).toEqual([200, { data: null, errors: [own, explained('me')] }]);
  });

  it('leaves answers without UNAUTHENTICATED errors, other statuses and non-JSON bodies as they are', () => {
    const ok = JSON.stringify({ data: { login: { accessToken: 't' } } });
    expect(answerRefusedCredential(200, ok, refused)).toEqual({ status: 200, body: ok });
    const invalid = JSON.stringify({ errors: [{ message: 'x', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    expect(answerRefusedCredential(400, invalid, refused)).toEqual({ status: 400, body: invalid });
    expect(answerRefusedCredential(200, 'not json', refused)).toEqual({ status: 200, body: 'not json' });
  });
});

describe('bearerToken', () => {
  it('returns the credential of any well-formed Bearer header; only another shape is a format error', () => {
    expect(bearerToken('Bearer not-a-jwt')).toBe('not-a-jwt');
    expect(bearerToken('bearer  a.b.c ')).toBe('a.b.c');
    expect(bearerToken(['Bearer dp_live_x', 'Bearer other'])).toBe('dp_live_x');
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'Token a.b.c', 'Bearera.b.c'])
      expect(() => bearerToken(header)).toThrow('The Authorization header must be "Bearer <token>".');
  });
});
