/**
 * Password hashing with scrypt (RFC 7914), Node's built-in `crypto.scrypt` (OpenSSL), no native add-on.
 *
 * Parameters: N = 2^15 (CPU/memory cost), r = 8 (block size), p = 1 (parallelism), a 16-byte random salt
 * and a 32-byte derived key. Memory per hash is 128 · N · r bytes = 32 MiB, so `maxmem` is set to 64 MiB
 * (Node's default of 32 MiB is exactly the working set and OpenSSL rejects it). Cost here: roughly
 * 50–100 ms per hash on one core. RFC 7914 §2 gives the parameter meanings; Percival's scrypt paper
 * suggested N = 2^14, r = 8, p = 1 for interactive logins in 2009, and OWASP's Password Storage Cheat Sheet
 * today suggests N = 2^17: the parameters live in each stored hash, so raising {@link SCRYPT_PARAMS} later
 * rehashes each user at their next successful login ({@link needsRehash}).
 *
 * Stored format: `scrypt$<N>$<r>$<p>$<salt, base64>$<key, base64>`. Comparison uses `timingSafeEqual`.
 * (argon2id would need a native npm add-on, and Node 20 has no built-in argon2.)
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** The parameters new hashes use. */
export const SCRYPT_PARAMS = Object.freeze({ N: 2 ** 15, r: 8, p: 1, saltBytes: 16, keyBytes: 32 });

/** Upper bound accepted for stored parameters, so a tampered hash cannot make verification allocate gigabytes. */
const MAX_N = 2 ** 20;

function derive(password: string, salt: Buffer, keyBytes: number, N: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N, r, p, maxmem: 128 * N * r * 2 + 128 * r * p };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, keyBytes, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Hashes `password` with fresh salt. The password is Unicode NFC-normalised first (RFC 8265 §4.2, the
 * OpaqueString profile), so that the same characters typed on different systems match.
 * @returns the `scrypt$N$r$p$salt$hash` string to store.
 */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, saltBytes, keyBytes } = SCRYPT_PARAMS;
  const salt = randomBytes(saltBytes);
  const key = await derive(password, salt, keyBytes, N, r, p);
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

type Parsed = { N: number; r: number; p: number; salt: Buffer; key: Buffer };

function parse(stored: string): Parsed | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16)
    return null;
  if (salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

/**
 * True when `password` matches `stored` (constant-time comparison of the derived keys).
 * A malformed `stored` value answers false after doing the same work as a real check.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) {
    await derive(
      password,
      randomBytes(SCRYPT_PARAMS.saltBytes),
      SCRYPT_PARAMS.keyBytes,
      SCRYPT_PARAMS.N,
      SCRYPT_PARAMS.r,
      SCRYPT_PARAMS.p,
    );
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.key.length, parsed.N, parsed.r, parsed.p);
  return timingSafeEqual(key, parsed.key);
}

/** True when `stored` was made with other parameters than {@link SCRYPT_PARAMS} (rehash after a successful login). */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  const { N, r, p, saltBytes, keyBytes } = SCRYPT_PARAMS;
  return (
    !parsed ||
    parsed.N !== N ||
    parsed.r !== r ||
    parsed.p !== p ||
    parsed.salt.length !== saltBytes ||
    parsed.key.length !== keyBytes
  );
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password with the current parameters, made once per process. Login verifies against it
 * when the email is unknown, so that unknown and known emails take the same time.
 */
export function dummyHash(): Promise<string> {
  return (dummy ??= hashPassword(randomBytes(18).toString('base64')));
}
