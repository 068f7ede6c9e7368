/**
 * The access-token signing keys: Ed25519 key pairs in `auth.signing_keys`, their private halves encrypted at rest,
 * rotated without downtime.
 *
 * Life of a key (migrations/004_signing_keys.sql; instants on PostgreSQL's clock, so every replica derives the same
 * state from the rows):
 * - next: published in the JWKS from its insertion, not signing until `activates_at`, at least the publish lead
 *   later ({@link DEFAULT_KEY_PUBLISH_LEAD_SECONDS}: longer than a verifier plus an HTTP cache in front of it keep
 *   the JWKS, so every verifier holds the key before the first token it signs);
 * - current: the one key that signs, from `activates_at` until `retired_at` (NULL: until a successor is scheduled);
 * - retired: signs no more and keeps no private half; still published until `retired_at` + access-token TTL +
 *   clock tolerance, when the last token it signed has expired for every verifier;
 * - dropped: out of the JWKS; the row (public key, instants) stays as history.
 * Scheduling a successor sets `successor.activates_at = current.retired_at = now + lead` in one transaction.
 *
 * Replicas agree through a transaction-scoped advisory lock around every change ("seal plaintext rows, erase
 * retired private halves, make the first key, schedule the automatic rotation"): however many replicas (and
 * `npm run keys:rotate`) run at once, one key is made per rotation. Each replica re-reads the keys every check
 * interval and switches its signing key at `activates_at` by itself (a timer, and a check at each signature), so
 * no replica has to be told; the next key's private half is already in memory then, so the switch needs no database.
 *
 * At rest a private JWK is sealed with AES-256-GCM (NIST SP 800-38D) under a 32-byte key-encryption key from the
 * environment (AUTH_KEY_ENCRYPTION_KEY): version byte 1 ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag, with
 * `datapilot/auth/signing-key/<kid>` as additional authenticated data (a sealed key cannot be moved to another row).
 */
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
} from 'jose';
import type { CryptoKey, JSONWebKeySet, JWK, JWTVerifyGetKey } from 'jose';
import type { Pool, PoolClient } from 'pg';
import {
  inTransaction,
  JWKS_CACHE_MAX_AGE_SECONDS,
  JWKS_REFETCH_COOLDOWN_MS,
  TOKEN_ALG,
  TOKEN_CLOCK_TOLERANCE_SECONDS,
  type Logger,
} from '@datapilot/common';

/** A public key as served in the JWKS (RFC 7517 §4): OKP / Ed25519 with `kid`, `alg` EdDSA and `use` sig. */
export type PublicJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };

/**
 * Default publish lead: 600 seconds (10 minutes), twice {@link JWKS_CACHE_MAX_AGE_SECONDS} — an HTTP cache may keep
 * the JWKS response that long and hand a verifier a copy it then keeps as long again.
 */
export const DEFAULT_KEY_PUBLISH_LEAD_SECONDS = 2 * JWKS_CACHE_MAX_AGE_SECONDS;
/** Default automatic rotation period of the service (AUTH_KEY_ROTATION_DAYS): 90 days. */
export const DEFAULT_KEY_ROTATION_DAYS = 90;
/** Longest pause between two checks of the keys by a running store, in milliseconds (30 s). */
export const KEY_CHECK_INTERVAL_MAX_MS = 30_000;

/**
 * The development key-encryption key, base64 of the 32 ASCII bytes `datapilot-development-kek-000000`: public (it
 * is in this file), the default of AUTH_KEY_ENCRYPTION_KEY in development, refused in production (config.ts).
 */
export const DEVELOPMENT_KEY_ENCRYPTION_KEY = 'ZGF0YXBpbG90LWRldmVsb3BtZW50LWtlay0wMDAwMDA=';

const LOCK_KEY = 'auth:signing-key';
/** The development-key warning is written once per process (tests start many stores). */
let warnedDevelopmentKek = false;
const RELOAD_COOLDOWN_MS = 5_000;
const SEAL_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed private key that the given key-encryption key does not open: the service must not start. */
export class SigningKeyDecryptionError extends Error {
  constructor(kid: string) {
    super(
      `AUTH_KEY_ENCRYPTION_KEY does not decrypt signing key ${kid} of auth.signing_keys (AES-256-GCM authentication ` +
        `failed): start with the key-encryption key the signing keys were encrypted with. If that key is lost, ` +
        `DELETE FROM auth.signing_keys; the next start makes a new signing key (access tokens signed before fail ` +
        `to verify; refresh tokens still work).`,
    );
    this.name = 'SigningKeyDecryptionError';
  }
}

function checkKek(kek: Uint8Array): Buffer {
  if (kek.length !== 32) throw new RangeError(`the key-encryption key must be 32 bytes, not ${kek.length}`);
  return Buffer.from(kek);
}

const aad = (kid: string) => Buffer.from(`datapilot/auth/signing-key/${kid}`, 'utf8');

/**
 * Seals a private JWK for `auth.signing_keys.private_key_sealed`: AES-256-GCM under `kek` (32 bytes), random
 * 96-bit nonce, AAD bound to `kid`. @returns version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
 * @throws RangeError when `kek` is not 32 bytes.
 */
export function sealPrivateJwk(kek: Uint8Array, kid: string, jwk: JWK): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', checkKek(kek), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(kid));
  const body = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([SEAL_VERSION]), nonce, body, cipher.getAuthTag()]);
}

/**
 * Opens what {@link sealPrivateJwk} sealed.
 * @throws SigningKeyDecryptionError when `kek` is not the key it was sealed with, or the bytes or kid were changed.
 */
export function openPrivateJwk(kek: Uint8Array, kid: string, sealed: Uint8Array): JWK {
  const buf = Buffer.from(sealed);
  if (buf.length < 1 + NONCE_BYTES + TAG_BYTES + 1 || buf[0] !== SEAL_VERSION) throw new SigningKeyDecryptionError(kid);
  const nonce = buf.subarray(1, 1 + NONCE_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', checkKek(kek), nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(kid));
  decipher.setAuthTag(tag);
  try {
    const text = Buffer.concat([
      decipher.update(buf.subarray(1 + NONCE_BYTES, buf.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return JSON.parse(text.toString('utf8')) as JWK;
  } catch {
    throw new SigningKeyDecryptionError(kid);
  }
}

/** Whether `kek` is the public {@link DEVELOPMENT_KEY_ENCRYPTION_KEY}. */
export function isDevelopmentKek(kek: Uint8Array): boolean {
  const dev = Buffer.from(DEVELOPMENT_KEY_ENCRYPTION_KEY, 'base64');
  return kek.length === dev.length && timingSafeEqual(Buffer.from(kek), dev);
}

function toPublic(kid: string, jwk: JWK): PublicJwk {
  // Copy only the public members: a private `d` can never reach the JWKS, whatever the row holds.
  return { kty: 'OKP', crv: 'Ed25519', x: String(jwk.x), kid, alg: 'EdDSA', use: 'sig' };
}

/** Runs `fn` in a transaction holding the signing-key advisory lock (one writer of the keys at a time). */
function withKeyLock<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK_KEY]);
    return fn(c);
  });
}

/**
 * Makes a key pair (kid = RFC 7638 thumbprint of the public key) that signs from `activatesAt` (a timestamptz the
 * caller computed in this transaction); the key that had no end ends there. Holds the lock (caller).
 */
async function insertKey(c: PoolClient, kek: Buffer, activatesAt: Date, retiredAt: Date | null): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519', extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const sealed = sealPrivateJwk(kek, kid, await exportJWK(privateKey));
  if (!retiredAt) await c.query(`UPDATE auth.signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, [activatesAt]);
  await c.query(
    `INSERT INTO auth.signing_keys (kid, alg, public_jwk, private_key_sealed, activates_at, retired_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [kid, TOKEN_ALG, JSON.stringify(toPublic(kid, pub)), sealed, activatesAt, retiredAt],
  );
  return kid;
}

type KeyTimes = { kid: string; activates_at: Date; retired_at: Date | null; private_key_sealed: Buffer | null };

/** The signing key now and the scheduled next one, read under the lock. */
async function currentAndNext(c: PoolClient): Promise<{ now: Date; current?: KeyTimes; next?: KeyTimes }> {
  const { rows } = await c.query<KeyTimes & { now: Date }>(
    `SELECT kid, activates_at, retired_at, private_key_sealed, now() AS now FROM auth.signing_keys
      WHERE retired_at IS NULL OR retired_at > now() ORDER BY activates_at`,
  );
  const now = rows[0]?.now ?? (await c.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now;
  return {
    now,
    current: rows.find((r) => r.activates_at <= now),
    next: rows.find((r) => r.activates_at > now),
  };
}

/** Timing of rotations. */
export type KeyRotationTiming = {
  /** Seconds a new key is published before it signs (default {@link DEFAULT_KEY_PUBLISH_LEAD_SECONDS}). */
  publishLeadSeconds?: number;
  /** Seconds a key signs before the store schedules its successor (0 = never by itself; the default). */
  rotationPeriodSeconds?: number;
};

/**
 * The checks every replica runs under the lock: seal private JWKs stored in clear (schema v1 rows; a retired one
 * just loses its private half), erase the private half of every retired key, make the first key when there is none
 * (signing at once: no verifier can know another key), and schedule the successor when the rotation period says so
 * (to sign at `current.activates_at + period`, published `lead` before that, or `lead` from now if later).
 * @returns the number of keys sealed by this call.
 * @throws SigningKeyDecryptionError, before any change, when `kek` does not open a key already sealed.
 */
async function maintain(c: PoolClient, kek: Buffer, timing: Required<KeyRotationTiming>): Promise<number> {
  // First make sure `kek` is the key the others were sealed with: nothing is sealed with a wrong one.
  const probe = await c.query<{ kid: string; private_key_sealed: Buffer }>(
    `SELECT kid, private_key_sealed FROM auth.signing_keys WHERE private_key_sealed IS NOT NULL LIMIT 1`,
  );
  for (const row of probe.rows) openPrivateJwk(kek, row.kid, row.private_key_sealed);
  const plain = await c.query<{ kid: string; private_jwk: JWK; retired: boolean }>(
    `SELECT kid, private_jwk, coalesce(retired_at <= now(), false) AS retired FROM auth.signing_keys
      WHERE private_jwk IS NOT NULL FOR UPDATE`,
  );
  for (const row of plain.rows) {
    const sealed = row.retired ? null : sealPrivateJwk(kek, row.kid, row.private_jwk);
    await c.query(`UPDATE auth.signing_keys SET private_key_sealed = $2, private_jwk = NULL WHERE kid = $1`, [
      row.kid,
      sealed,
    ]);
  }
  await c.query(
    `UPDATE auth.signing_keys SET private_key_sealed = NULL WHERE retired_at <= now() AND private_key_sealed IS NOT NULL`,
  );
  const { now, current, next } = await currentAndNext(c);
  if (!current) {
    await insertKey(c, kek, now, next?.activates_at ?? null);
  } else if (timing.rotationPeriodSeconds > 0 && !next) {
    const due = current.activates_at.getTime() + timing.rotationPeriodSeconds * 1000;
    const earliest = now.getTime() + timing.publishLeadSeconds * 1000;
    if (due - timing.publishLeadSeconds * 1000 <= now.getTime())
      await insertKey(c, kek, new Date(Math.max(due, earliest)), null);
  }
  return plain.rows.filter((r) => !r.retired).length;
}

/**
 * Schedules a rotation (`npm run keys:rotate`): a new key published now that signs `publishLeadSeconds` from now,
 * when the current key ends. Does nothing when a next key is already scheduled (one rotation at a time) and answers
 * that one. Runs the same checks as a starting service first, which refuse an `encryptionKey` that does not open
 * the stored keys: no key sealed with another key-encryption key than the services' can be scheduled.
 * @returns the next key's kid, when it signs, and whether this call made it.
 * @throws SigningKeyDecryptionError when `encryptionKey` is not the one the keys are sealed with.
 */
export async function scheduleKeyRotation(
  pool: Pool,
  opts: { encryptionKey: Uint8Array; publishLeadSeconds?: number },
): Promise<{ kid: string; activatesAt: Date; created: boolean }> {
  const kek = checkKek(opts.encryptionKey);
  const lead = opts.publishLeadSeconds ?? DEFAULT_KEY_PUBLISH_LEAD_SECONDS;
  return withKeyLock(pool, async (c) => {
    await maintain(c, kek, { publishLeadSeconds: lead, rotationPeriodSeconds: 0 });
    const { now, next } = await currentAndNext(c);
    if (next) return { kid: next.kid, activatesAt: next.activates_at, created: false };
    const activatesAt = new Date(now.getTime() + lead * 1000);
    return { kid: await insertKey(c, kek, activatesAt, null), activatesAt, created: true };
  });
}

/** One key as {@link listSigningKeys} reports it. */
export type SigningKeyInfo = {
  kid: string;
  state: 'next' | 'current' | 'retired' | 'dropped';
  createdAt: Date;
  /** When it signs (signed) first. */
  activatesAt: Date;
  /** When it stops (stopped) signing; null while no successor is scheduled. */
  retiredAt: Date | null;
  /** When it leaves (left) the JWKS: `retiredAt` + access-token TTL + clock tolerance; null with `retiredAt`. */
  unpublishAt: Date | null;
  /** Whether the row still holds a private half (sealed, or in clear before the first start on schema v4). */
  hasPrivateKey: boolean;
};

/** Seconds a retired key stays published: the access-token lifetime plus the verifiers' clock tolerance. */
export function retiredKeyGraceSeconds(accessTokenTtlSeconds: number): number {
  return accessTokenTtlSeconds + TOKEN_CLOCK_TOLERANCE_SECONDS;
}

/**
 * Every key with its state now, newest first (for `npm run keys:rotate -- --status` and tests).
 * @param opts.accessTokenTtlSeconds the service's access-token lifetime (ACCESS_TOKEN_TTL_SECONDS).
 */
export async function listSigningKeys(pool: Pool, opts: { accessTokenTtlSeconds: number }): Promise<SigningKeyInfo[]> {
  const grace = retiredKeyGraceSeconds(opts.accessTokenTtlSeconds);
  const { rows } = await pool.query<{
    kid: string;
    created_at: Date;
    activates_at: Date;
    retired_at: Date | null;
    unpublish_at: Date | null;
    has_private: boolean;
    state: SigningKeyInfo['state'];
  }>(
    `SELECT kid, created_at, activates_at, retired_at, unpublish_at,
            (private_key_sealed IS NOT NULL OR private_jwk IS NOT NULL) AS has_private,
            CASE WHEN activates_at > now() THEN 'next'
                 WHEN retired_at IS NULL OR retired_at > now() THEN 'current'
                 WHEN unpublish_at > now() THEN 'retired' ELSE 'dropped' END AS state
       FROM (SELECT *, retired_at + make_interval(secs => $1) AS unpublish_at FROM auth.signing_keys) k
      ORDER BY activates_at DESC, kid DESC`,
    [grace],
  );
  return rows.map((r) => ({
    kid: r.kid,
    state: r.state,
    createdAt: r.created_at,
    activatesAt: r.activates_at,
    retiredAt: r.retired_at,
    unpublishAt: r.unpublish_at,
    hasPrivateKey: r.has_private,
  }));
}

/** Public keys to publish now: next, current, and retired ones within their grace. Newest first. */
async function loadPublishedKeys(pool: Pool, graceSeconds: number) {
  const { rows } = await pool.query<KeyTimes & { public_jwk: JWK; now: Date }>(
    `SELECT kid, public_jwk, private_key_sealed, activates_at, retired_at, now() AS now FROM auth.signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
      ORDER BY activates_at DESC, kid DESC`,
    [graceSeconds],
  );
  return rows;
}

/** Options of {@link createSigningKeyStore}. */
export type SigningKeyStoreOptions = KeyRotationTiming & {
  pool: Pool;
  /** Receives a warning for the development key-encryption key, and the store's transitions (info). */
  logger: Logger;
  /**
   * The 32-byte key-encryption key (AUTH_KEY_ENCRYPTION_KEY). Default: the public development key, with a warning
   * (once per process).
   */
  encryptionKey?: Uint8Array;
  /** Access-token lifetime in seconds: a retired key stays published this long plus the clock tolerance. */
  accessTokenTtlSeconds: number;
  /**
   * Pause between two checks (re-read of the keys, automatic rotation), in milliseconds; default a quarter of the
   * publish lead, at most {@link KEY_CHECK_INTERVAL_MAX_MS} and at least 200 ms.
   */
  checkIntervalMs?: number;
};

/** Signs and serves keys; see {@link createSigningKeyStore}. */
export interface SigningKeyStore {
  /**
   * The key that signs new tokens now. It changes only between two turns of the event loop (a timer, or a microtask
   * queued by the first read after the key's end), so a token signed synchronously from two reads (`kid`, then
   * `privateKey`) never mixes two keys.
   */
  readonly signing: { kid: string; privateKey: CryptoKey };
  /** Public keys to publish (RFC 7517 JWKS), read from the database at each call: next, current, retired. */
  jwks(): Promise<{ keys: PublicJwk[] }>;
  /**
   * A jose key resolver over the published keys, for verifying tokens in this process without HTTP. An unknown
   * `kid` re-reads the keys (at most once every 5 seconds).
   */
  getKey: JWTVerifyGetKey;
  /** Runs a check now (the same as the periodic one): the lock-held checks, then a re-read of the keys. */
  refresh(): Promise<void>;
  /** Stops the periodic check and the switch timer. */
  close(): void;
}

/**
 * Loads (or first makes) the signing keys and returns the store; it then checks the keys every check interval.
 * A failed periodic check (database unreachable) is logged and retried at the next; the store keeps signing with
 * the keys it has (a next key already read switches on time).
 * @throws SigningKeyDecryptionError when `encryptionKey` does not open the stored keys; RangeError when it is not
 *   32 bytes; the PostgreSQL error when `auth.signing_keys` is unreachable (run the migrations first).
 */
export async function createSigningKeyStore(opts: SigningKeyStoreOptions): Promise<SigningKeyStore> {
  const { pool, logger } = opts;
  const kek = checkKek(opts.encryptionKey ?? Buffer.from(DEVELOPMENT_KEY_ENCRYPTION_KEY, 'base64'));
  if (isDevelopmentKek(kek) && !warnedDevelopmentKek) {
    warnedDevelopmentKek = true;
    logger.warn(
      'signing keys are encrypted with the public development key-encryption key: set AUTH_KEY_ENCRYPTION_KEY ' +
        '(base64 of 32 random bytes, e.g. `openssl rand -base64 32`) for any real use',
    );
  }
  const timing = {
    publishLeadSeconds: opts.publishLeadSeconds ?? DEFAULT_KEY_PUBLISH_LEAD_SECONDS,
    rotationPeriodSeconds: opts.rotationPeriodSeconds ?? 0,
  };
  if (timing.publishLeadSeconds * 1000 < JWKS_REFETCH_COOLDOWN_MS)
    logger.warn('the signing-key publish lead is shorter than the verifiers’ JWKS refetch cooldown', {
      publishLeadSeconds: timing.publishLeadSeconds,
      cooldownMs: JWKS_REFETCH_COOLDOWN_MS,
      consequence: 'a verifier that fetched the JWKS just before a rotation refuses the new key’s tokens until then',
    });
  const grace = retiredKeyGraceSeconds(opts.accessTokenTtlSeconds);
  const checkMs =
    opts.checkIntervalMs ?? Math.max(200, Math.min(KEY_CHECK_INTERVAL_MAX_MS, (timing.publishLeadSeconds * 1000) / 4));

  type Held = { kid: string; activatesAtMs: number; retiredAtMs: number | null; privateKey: CryptoKey };
  let held: Held[] = []; // keys with a private half (current, next), activation order
  let current: Held | undefined;
  let offsetMs = 0; // database clock − local clock
  let local = createLocalJWKSet({ keys: [] });
  let lastLoad = 0;
  let switchTimer: NodeJS.Timeout | undefined;
  let switchQueued = false;

  /** Picks the key that signs now (database time) among those held, and arms the timer for the next change. */
  const select = () => {
    switchQueued = false;
    const now = Date.now() + offsetMs;
    const pick = held.find((k) => k.activatesAtMs <= now && (k.retiredAtMs === null || now < k.retiredAtMs));
    if (pick && pick.kid !== current?.kid) {
      if (current) logger.info('signing key switched', { from: current.kid, to: pick.kid });
      current = pick;
    }
    clearTimeout(switchTimer);
    const upcoming = held.map((k) => k.activatesAtMs).filter((t) => t > now);
    if (upcoming.length) switchTimer = setTimeout(select, Math.min(Math.min(...upcoming) - now, 2 ** 31 - 1)).unref();
  };

  const load = async (starting: boolean) => {
    const before = Date.now();
    const rows = await loadPublishedKeys(pool, grace);
    lastLoad = Date.now();
    if (rows[0]) offsetMs = rows[0].now.getTime() - (before + lastLoad) / 2;
    local = createLocalJWKSet({ keys: rows.map((r) => toPublic(r.kid, r.public_jwk)) } as JSONWebKeySet);
    const next: Held[] = [];
    for (const r of rows.filter((x) => x.private_key_sealed).reverse()) {
      const had = held.find((k) => k.kid === r.kid);
      let privateKey = had?.privateKey;
      if (!privateKey) {
        try {
          privateKey = (await importJWK(openPrivateJwk(kek, r.kid, r.private_key_sealed!), TOKEN_ALG)) as CryptoKey;
        } catch (e) {
          if (starting) throw e;
          logger.error('a signing key cannot be decrypted; this replica keeps its current key', { kid: r.kid, err: e });
          continue;
        }
        if (!starting) logger.info('signing key loaded', { kid: r.kid, activatesAt: r.activates_at.toISOString() });
      }
      next.push({
        kid: r.kid,
        activatesAtMs: r.activates_at.getTime(),
        retiredAtMs: r.retired_at?.getTime() ?? null,
        privateKey,
      });
    }
    // The key that signs keeps its private half in memory until a successor is held, whatever the rows say now.
    if (
      current &&
      !next.some((k) => k.kid === current!.kid) &&
      !next.some((k) => k.activatesAtMs <= Date.now() + offsetMs)
    )
      next.unshift(current);
    held = next;
    select();
  };

  const check = async (starting: boolean) => {
    const sealed = await withKeyLock(pool, (c) => maintain(c, kek, timing));
    if (sealed) logger.info('signing keys encrypted at rest', { count: sealed });
    await load(starting);
  };

  await check(true);
  if (!current) throw new Error('no signing key is active in auth.signing_keys after the start-up check');
  logger.info('signing key in use', { kid: current.kid, publishLeadSeconds: timing.publishLeadSeconds });

  let checking: Promise<void> | undefined;
  const refresh = () =>
    (checking ??= check(false).finally(() => {
      checking = undefined;
    }));
  const interval = setInterval(() => {
    refresh().catch((err) => logger.warn('signing key check failed; retrying at the next one', { err }));
  }, checkMs).unref();

  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await local(header, token);
    } catch (e) {
      if (!(e instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - lastLoad < RELOAD_COOLDOWN_MS) throw e;
      await refresh();
      return local(header, token);
    }
  };

  return {
    get signing() {
      const key = current!;
      if (!switchQueued && key.retiredAtMs !== null && Date.now() + offsetMs >= key.retiredAtMs) {
        // Past its end (a late timer): switch after this synchronous turn, never between two reads of one token.
        switchQueued = true;
        queueMicrotask(select);
        if (!held.some((k) => k.activatesAtMs === key.retiredAtMs) && Date.now() - lastLoad >= RELOAD_COOLDOWN_MS)
          refresh().catch((err) => logger.warn('signing key check failed', { err }));
      }
      return { kid: key.kid, privateKey: key.privateKey };
    },
    jwks: async () => ({ keys: (await loadPublishedKeys(pool, grace)).map((r) => toPublic(r.kid, r.public_jwk)) }),
    getKey,
    refresh,
    close() {
      clearInterval(interval);
      clearTimeout(switchTimer);
    },
  };
}
