/**
 * Login throttling per email, with its state in PostgreSQL so that every auth replica enforces one limit.
 *
 * The rule: at most `maxFailures` failed logins for one email within any `windowSeconds`-long interval (a sliding
 * window). Once an email has that many failures in the window, `login` for it answers RATE_LIMITED with
 * `extensions.retryAfterSeconds` — without looking the user up and without running scrypt — until the oldest of
 * those failures leaves the window. A correct password clears the email's failures. Defaults: 10 failures per
 * 900 seconds (15 minutes).
 *
 * Source: OWASP Authentication Cheat Sheet, "Protect Against Automated Attacks" → "Login Throttling" /
 * "Account Lockout" (https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html): a lockout
 * threshold, an observation window and a lockout duration (here the window itself); the failure counter belongs to
 * the account, not to the source IP address, so that spreading attempts over many addresses does not help; lockouts
 * are logged; and a lockout is temporary, because an attacker can use it to lock a user out (a denial of service
 * the cheat sheet warns about: it lasts at most one window here).
 *
 * Choices:
 * - The counter is keyed by the normalised email as typed, whether or not an account has it, and an unknown email
 *   is throttled exactly like a known one: RATE_LIMITED does not reveal which emails exist (the cheat sheet's
 *   "Authentication and Error Messages"). Below the limit both still answer UNAUTHENTICATED "Invalid email or
 *   password.".
 * - An attempt is counted *before* its password is checked and uncounted (all failures cleared) when the password
 *   is right. So parallel requests cannot slip past the limit while scrypt runs: at most `maxFailures` passwords per
 *   window are ever checked for one email, however many replicas and connections the attempts arrive on.
 * - Times come from the database clock, so replicas agree whatever their own clocks say.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { DataPilotError, type Logger } from '@datapilot/common';
import { clearFailures, countAttempt, pruneFailures, secondsUntilAllowed } from './data/login-failures.ts';
import { normalizeEmail } from './validation.ts';

/** Default lockout threshold: 10 failed logins per email within the window. */
export const DEFAULT_LOGIN_MAX_FAILURES = 10;
/** Default observation window (and longest lockout): 900 seconds (15 minutes). */
export const DEFAULT_LOGIN_FAILURE_WINDOW_SECONDS = 900;
/** The message of the RATE_LIMITED answer; the same for every email. */
export const LOGIN_RATE_LIMITED = 'Too many failed logins for this email. Try again later.';

/** How often one process deletes rows whose failures have all left the window, in milliseconds. */
const PRUNE_INTERVAL_MS = 60_000;

/** Options of {@link createLoginThrottle}. */
export type LoginThrottleOptions = {
  pool: Pool;
  logger: Logger;
  /** Failed logins per email allowed within the window (integer ≥ 1; default 10). */
  maxFailures?: number;
  /** Length of the sliding window in seconds (integer ≥ 1; default 900). */
  windowSeconds?: number;
};

/** One counted login attempt; tell it how the password check ended. */
export interface LoginAttempt {
  /** The password was right: clears every counted failure of the email. */
  succeeded(): Promise<void>;
  /** The password was wrong (or the email unknown): the attempt stays counted; logs a lockout when it is the last allowed. */
  failed(): Promise<void>;
}

/** Per-email login throttling; see the module comment and {@link createLoginThrottle}. */
export interface LoginThrottle {
  /** The limits in force. */
  readonly maxFailures: number;
  readonly windowSeconds: number;
  /**
   * Counts a login attempt for `email` (normalised as login does), before its password is checked.
   * @throws RATE_LIMITED {@link LOGIN_RATE_LIMITED} with `extensions.retryAfterSeconds` (integer, 1..windowSeconds)
   *   when the email already has `maxFailures` failures in the window; nothing is counted then.
   */
  begin(email: string): Promise<LoginAttempt>;
}

/** The key of an email in `auth.login_failures`: SHA-256 of the normalised email's UTF-8 bytes (32 bytes). */
export function loginThrottleKey(email: string): Buffer {
  return createHash('sha256').update(normalizeEmail(email), 'utf8').digest();
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${v}`);
  return v;
}

/**
 * Creates the throttle over `opts.pool` (table `auth.login_failures`, created by the auth migrations).
 * @throws RangeError when `maxFailures` or `windowSeconds` is not an integer ≥ 1.
 */
export function createLoginThrottle(opts: LoginThrottleOptions): LoginThrottle {
  const { pool, logger } = opts;
  const maxFailures = positiveInt('maxFailures', opts.maxFailures ?? DEFAULT_LOGIN_MAX_FAILURES);
  const windowSeconds = positiveInt('windowSeconds', opts.windowSeconds ?? DEFAULT_LOGIN_FAILURE_WINDOW_SECONDS);
  let lastPruneMs = 0;

  async function prune(): Promise<void> {
    if (Date.now() - lastPruneMs < PRUNE_INTERVAL_MS) return;
    lastPruneMs = Date.now();
    try {
      const n = await pruneFailures(pool, windowSeconds);
      if (n) logger.debug('pruned expired login failures', { rows: n });
    } catch (err) {
      logger.warn('pruning login failures failed', { err });
    }
  }

  return {
    maxFailures,
    windowSeconds,
    async begin(email) {
      const key = loginThrottleKey(email);
      const counted = await countAttempt(pool, key, windowSeconds, maxFailures);
      if (counted === undefined) {
        const wait = (await secondsUntilAllowed(pool, key, windowSeconds, maxFailures)) ?? 1;
        throw new DataPilotError('RATE_LIMITED', LOGIN_RATE_LIMITED, {
          retryAfterSeconds: Math.min(windowSeconds, Math.max(1, wait)),
        });
      }
      return {
        succeeded: () => clearFailures(pool, key),
        async failed() {
          // Logged once per lockout (OWASP: log account lockouts); a key prefix, not the email.
          if (counted >= maxFailures)
            logger.warn('login locked for an email', {
              emailKey: key.toString('hex').slice(0, 16),
              failures: counted,
              windowSeconds,
            });
          await prune();
        },
      };
    },
  };
}
