/**
 * The access-token signing keys: Ed25519 key pairs kept as JWKs in `auth.signing_keys`.
 *
 * The first start generates a key pair; later starts (and other replicas) load it. Replicas agree through a
 * transaction-scoped advisory lock around "read the newest active key, else generate and insert one", so
 * exactly one key is created however many replicas start at once. The private JWK is stored in plain form
 * in PostgreSQL (protected by the database's access control only; see the report's "left undone").
 */
import {
  createLocalJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  calculateJwkThumbprint,
} from 'jose';
import type { CryptoKey, JSONWebKeySet, JWK, JWTVerifyGetKey } from 'jose';
import type { Pool } from 'pg';
import { TOKEN_ALG } from '@datapilot/common';

/** A public key as served in the JWKS (RFC 7517 §4): OKP / Ed25519 with `kid`, `alg` EdDSA and `use` sig. */
export type PublicJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };

/** Signs and serves keys; see {@link createSigningKeyStore}. */
export interface SigningKeyStore {
  /** The key that signs new tokens (loaded at creation). */
  readonly signing: { kid: string; privateKey: CryptoKey };
  /** Public keys to publish: every active key, plus keys retired less than a day ago. Newest first. */
  jwks(): Promise<{ keys: PublicJwk[] }>;
  /**
   * A jose key resolver over the same keys, for verifying tokens in this process without HTTP. An unknown
   * `kid` reloads the keys from the database (at most once every 5 seconds).
   */
  getKey: JWTVerifyGetKey;
}

const LOCK_KEY = 'auth:signing-key';
const RELOAD_COOLDOWN_MS = 5_000;

function toPublic(kid: string, jwk: JWK): PublicJwk {
  // Copy only the public members: a private `d` can never reach the JWKS, whatever the row holds.
  return { kty: 'OKP', crv: 'Ed25519', x: String(jwk.x), kid, alg: 'EdDSA', use: 'sig' };
}

/**
 * Returns the newest active signing key, generating and storing one (kid = RFC 7638 thumbprint of the public
 * key) when there is none. Safe to run from several replicas at once (advisory lock + ON CONFLICT).
 */
export async function ensureSigningKey(pool: Pool): Promise<{ kid: string; privateJwk: JWK }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK_KEY]);
    const newest = await client.query<{ kid: string; private_jwk: JWK }>(
      `SELECT kid, private_jwk FROM auth.signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1`,
    );
    let row = newest.rows[0];
    if (!row) {
      const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519', extractable: true });
      const pub = await exportJWK(publicKey);
      const priv = await exportJWK(privateKey);
      const kid = await calculateJwkThumbprint(pub);
      await client.query(
        `INSERT INTO auth.signing_keys (kid, alg, public_jwk, private_jwk) VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING`,
        [kid, TOKEN_ALG, JSON.stringify(toPublic(kid, pub)), JSON.stringify(priv)],
      );
      row = { kid, private_jwk: priv };
    }
    await client.query('COMMIT');
    return { kid: row.kid, privateJwk: row.private_jwk };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

async function loadPublicKeys(pool: Pool): Promise<PublicJwk[]> {
  const r = await pool.query<{ kid: string; public_jwk: JWK }>(
    `SELECT kid, public_jwk FROM auth.signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - interval '1 day'
      ORDER BY created_at DESC, kid DESC`,
  );
  return r.rows.map((row) => toPublic(row.kid, row.public_jwk));
}

/**
 * Loads (or first creates) the signing key and returns the store.
 * @throws the PostgreSQL error when `auth.signing_keys` is unreachable (run the migrations first).
 */
export async function createSigningKeyStore(pool: Pool): Promise<SigningKeyStore> {
  const { kid, privateJwk } = await ensureSigningKey(pool);
  const privateKey = (await importJWK(privateJwk, TOKEN_ALG)) as CryptoKey;
  let local = createLocalJWKSet({ keys: await loadPublicKeys(pool) } as JSONWebKeySet);
  let lastReload = Date.now();
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await local(header, token);
    } catch (e) {
      if (!(e instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - lastReload < RELOAD_COOLDOWN_MS) throw e;
      lastReload = Date.now();
      local = createLocalJWKSet({ keys: await loadPublicKeys(pool) } as JSONWebKeySet);
      return local(header, token);
    }
  };
  return {
    signing: { kid, privateKey },
    jwks: async () => ({ keys: await loadPublicKeys(pool) }),
    getKey,
  };
}
