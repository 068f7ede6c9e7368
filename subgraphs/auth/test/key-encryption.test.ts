// Signing keys encrypted at rest (src/keys.ts, migrations/004_signing_keys.sql), against a real PostgreSQL. The test
// opens the sealed rows with its own reading of the documented format (version 1 ‖ 12-byte nonce ‖ ciphertext ‖
// 16-byte tag, AES-256-GCM, AAD "datapilot/auth/signing-key/<kid>"), not with the code under test.
import { createDecipheriv, randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createTokenVerifier, runMigrations, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@datapilot/common';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { createAuthServer, MIGRATIONS_DIR, SigningKeyDecryptionError, type AuthServer } from '../src/index.ts';
import { gql, SIGNUP } from './helpers.ts';

const logger = createLogger('auth-test', 'warn');

/** Opens a `private_key_sealed` value by the format written in the migration (independently of keys.ts). */
function open(kek: Buffer, kid: string, sealed: Buffer): JWK {
  expect(sealed[0]).toBe(1);
  const decipher = createDecipheriv('aes-256-gcm', kek, sealed.subarray(1, 13));
  decipher.setAAD(Buffer.from(`datapilot/auth/signing-key/${kid}`));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const text = Buffer.concat([decipher.update(sealed.subarray(13, sealed.length - 16)), decipher.final()]);
  return JSON.parse(text.toString('utf8')) as JWK;
}

/** A token the way the auth subgraph signs one, with `jwk` under `kid`. */
async function signWith(jwk: JWK, kid: string) {
  return new SignJWT({ org: crypto.randomUUID(), role: 'OWNER', sid: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(await importJWK(jwk, 'EdDSA'));
}

type Row = { kid: string; private_jwk: JWK | null; private_key_sealed: Buffer | null; whole: string };
const rows = async (pool: pg.Pool) =>
  (
    await pool.query<Row>(
      `SELECT kid, private_jwk, private_key_sealed, k::text AS whole FROM auth.signing_keys k ORDER BY activates_at`,
    )
  ).rows;

describe('a new database', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let server: AuthServer;
  const kek = randomBytes(32);

  beforeAll(async () => {
    db = await startTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    server = await createAuthServer({ pool, port: 0, logger, keyEncryptionKey: kek });
  });
  afterAll(async () => {
    await server?.close();
    await pool?.end();
    await db?.close();
  });

  it('stores the private key sealed: no `d` in clear anywhere in the row, and it opens to the signing key', async () => {
    const [row, ...more] = await rows(pool);
    expect(more).toEqual([]);
    expect(row!.private_jwk).toBeNull();
    const jwk = open(kek, row!.kid, row!.private_key_sealed!);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    const d = jwk.d!;
    expect(Buffer.from(d, 'base64url')).toHaveLength(32);
    expect(row!.whole).not.toContain(d); // the row as text: public JWK, sealed bytes (hex), instants
    expect(row!.private_key_sealed!.includes(Buffer.from(d, 'base64url'))).toBe(false);
    expect(row!.private_key_sealed!.includes(Buffer.from(d))).toBe(false);
    // The opened key is the one the server signs with: a token it signs verifies against the served JWKS, and the
    // server's own tokens carry this kid.
    const verifier = createTokenVerifier({ jwks: server.jwksUrl });
    await expect(verifier.verify(await signWith(jwk, row!.kid))).resolves.toMatchObject({ role: 'OWNER' });
    const signup = await gql(server.graphqlUrl, SIGNUP, {
      input: { email: 'seal@example.org', password: 'sealed-pass-2026', orgName: 'Seal Org' },
    });
    expect(decodeProtectedHeader(signup.data!.signup.accessToken).kid).toBe(row!.kid);
  });

  it('refuses to start with another key-encryption key, naming AUTH_KEY_ENCRYPTION_KEY, and changes nothing', async () => {
    const before = await rows(pool);
    const start = createAuthServer({ pool, port: 0, logger, keyEncryptionKey: randomBytes(32) });
    await expect(start).rejects.toBeInstanceOf(SigningKeyDecryptionError);
    await expect(start).rejects.toThrow(
      `AUTH_KEY_ENCRYPTION_KEY does not decrypt signing key ${before[0]!.kid} of auth.signing_keys`,
    );
    expect(await rows(pool)).toEqual(before);
  });

  it('refuses a key-encryption key that is not 32 bytes', async () => {
    await expect(createAuthServer({ pool, port: 0, logger, keyEncryptionKey: randomBytes(16) })).rejects.toThrow(
      'the key-encryption key must be 32 bytes, not 16',
    );
  });
});

describe('a database of schema v3 with a private key in clear', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let server: AuthServer;
  let legacy: { kid: string; jwk: JWK; token: string };
  const kek = randomBytes(32);

  beforeAll(async () => {
    db = await startTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    // Migrations 001-003 only, then a key row as schema v1 wrote it (private JWK in clear).
    const dir = await mkdtemp(path.join(tmpdir(), 'dp-auth-v3-'));
    for (const f of await readdir(MIGRATIONS_DIR))
      if (/^00[1-3]_/.test(f)) await copyFile(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
    expect(await runMigrations(pool, 'auth', dir)).toEqual(['001', '002', '003']);
    await rm(dir, { recursive: true });
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    const jwk = await exportJWK(privateKey);
    await pool.query(`INSERT INTO auth.signing_keys (kid, alg, public_jwk, private_jwk) VALUES ($1, 'EdDSA', $2, $3)`, [
      kid,
      JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: pub.x, kid, alg: 'EdDSA', use: 'sig' }),
      JSON.stringify(jwk),
    ]);
    legacy = { kid, jwk, token: await signWith(jwk, kid) };
    server = await createAuthServer({ pool, port: 0, logger, keyEncryptionKey: kek });
  });
  afterAll(async () => {
    await server?.close();
    await pool?.end();
    await db?.close();
  });

  it('seals the key on the first start and keeps signing with it; tokens signed before still verify', async () => {
    const [row, ...more] = await rows(pool);
    expect(more).toEqual([]);
    expect(row!.kid).toBe(legacy.kid);
    expect(row!.private_jwk).toBeNull();
    expect(row!.whole).not.toContain(legacy.jwk.d!);
    expect(open(kek, row!.kid, row!.private_key_sealed!)).toEqual(legacy.jwk);
    await expect(createTokenVerifier({ jwks: server.jwksUrl }).verify(legacy.token)).resolves.toMatchObject({
      role: 'OWNER',
    });
    const signup = await gql(server.graphqlUrl, SIGNUP, {
      input: { email: 'legacy@example.org', password: 'legacy-pass-2026', orgName: 'Legacy Org' },
    });
    expect(decodeProtectedHeader(signup.data!.signup.accessToken).kid).toBe(legacy.kid);
  });
});
