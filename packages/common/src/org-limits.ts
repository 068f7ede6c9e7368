/**
 * Per-organization limits on expensive work: how many pieces of one kind of work (questions being answered, Spark
 * statements) one organization may have in flight at once, so that one organization cannot take every worker from
 * the others. Beyond its limit an organization gets DataPilotError RATE_LIMITED with `extensions.retryAfterSeconds`,
 * an estimate of when a slot frees (see {@link createOrgLimiter}).
 *
 * Scope: the counts live in this process. N replicas of a service admit up to N × limit per organization; a
 * cluster-wide limit needs the count in a shared store (e.g. a PostgreSQL row per organization and kind, updated
 * under a lock, with a lease so that a crashed replica's slots come back) — see the README, "Per-organization limits".
 */
import { DataPilotError } from './errors.ts';

/**
 * The RATE_LIMITED error of every per-organization limit: `message` as given (safe to show), and
 * `extensions.retryAfterSeconds` = `retryAfterMs` rounded up to whole seconds, at least 1 (contract of issue 6:
 * RATE_LIMITED carries `retryAfterSeconds`, an integer ≥ 1).
 */
export function rateLimited(message: string, retryAfterMs: number): DataPilotError {
  const seconds = Number.isFinite(retryAfterMs) ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : 1;
  return new DataPilotError('RATE_LIMITED', message, { retryAfterSeconds: seconds });
}

/** A slot held by one piece of work; give it back with `release()` (idempotent: a second call does nothing). */
export interface OrgSlot {
  release(): void;
}

/** Options of {@link createOrgLimiter}. */
export type OrgLimiterOptions = {
  /**
   * What is limited, plural, for the error message "The organization already has <limit> <what>, its limit; …",
   * e.g. `questions being answered`.
   */
  what: string;
  /** Slots per organization (integer ≥ 1). */
  limit: number;
  /**
   * How long a request may wait for a slot when its organization is at its limit, in milliseconds (default 0:
   * refused at once). Waiters get slots in arrival order.
   */
  maxWaitMs?: number;
  /** Most requests of one organization waiting at once; one more is refused at once (default 4 × limit). */
  maxWaiting?: number;
  /**
   * How long a slot is held, in milliseconds, assumed until this process has seen one released for the
   * organization; afterwards the estimate is an exponentially weighted mean of the observed hold times.
   */
  typicalHoldMs: number;
  /**
   * Organizations remembered while idle (no slot held, nobody waiting), for their observed hold time (default
   * 10 000; the least recently used idle one is forgotten first). Organizations with work in flight are always kept:
   * their number is bounded by the requests in flight.
   */
  maxOrgs?: number;
};

/** A per-organization concurrency limiter; see {@link createOrgLimiter}. */
export interface OrgLimiter {
  /** Slots per organization. */
  readonly limit: number;
  /**
   * Takes a slot for `orgId`: at once when it holds fewer than `limit` and nobody of it waits; otherwise it waits
   * (FIFO, at most `maxWaitMs`) for one to be released.
   * @throws DataPilotError RATE_LIMITED ("The organization already has <limit> <what>, its limit; …") with
   *   `extensions.retryAfterSeconds` when no slot is had: `maxWaitMs` is 0, the wait ran out, or `maxWaiting` of
   *   the organization wait already. Nothing is held then.
   */
  acquire(orgId: string): Promise<OrgSlot>;
  /** Runs `fn` in a slot of `orgId` ({@link acquire}), released when `fn` settles, whether it resolves or throws. */
  run<T>(orgId: string, fn: () => Promise<T>): Promise<T>;
  /** Slots `orgId` holds now. */
  inFlight(orgId: string): number;
  /** Requests of `orgId` waiting for a slot now. */
  waiting(orgId: string): number;
}

type Waiter = { grant(slot: OrgSlot): void; timer: NodeJS.Timeout };
type OrgState = {
  /** Start time (ms since epoch) of each slot held, by slot. */
  held: Map<OrgSlot, number>;
  queue: Waiter[];
  /** Exponentially weighted mean hold time, in milliseconds; undefined until a slot was released. */
  meanHoldMs?: number;
};

/** Weight of the newest hold time in the mean (about the last 5 holds count). */
const EWMA_WEIGHT = 0.2;

/**
 * Creates a per-organization concurrency limiter over an in-process map of organizations.
 *
 * `retryAfterSeconds` estimates when the caller would get a slot: with `p` requests of the organization waiting
 * ahead of it, it is the time until the (p+1)-th release, each held slot being expected to last the organization's
 * mean hold time (its elapsed time deducted, at least 0): the ((p mod limit)+1)-th smallest remaining time plus
 * ⌊p / limit⌋ mean hold times; rounded up to whole seconds, at least 1.
 */
export function createOrgLimiter(opts: OrgLimiterOptions): OrgLimiter {
  const { what, limit, typicalHoldMs } = opts;
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`createOrgLimiter(${what}): limit must be an integer ≥ 1`);
  const maxWaitMs = opts.maxWaitMs ?? 0;
  const maxWaiting = opts.maxWaiting ?? 4 * limit;
  const maxOrgs = opts.maxOrgs ?? 10_000;
  const orgs = new Map<string, OrgState>();

  const stateOf = (orgId: string): OrgState => {
    const s = orgs.get(orgId) ?? { held: new Map(), queue: [] };
    orgs.delete(orgId); // re-inserted last: the map's order is least recently used first
    orgs.set(orgId, s);
    return s;
  };

  /** Forgets least recently used idle organizations beyond `maxOrgs`. */
  const prune = () => {
    if (orgs.size <= maxOrgs) return;
    for (const [id, s] of orgs) {
      if (orgs.size <= maxOrgs) return;
      if (s.held.size === 0 && s.queue.length === 0) orgs.delete(id);
    }
  };

  const refusal = (s: OrgState, ahead: number): DataPilotError => {
    const mean = s.meanHoldMs ?? typicalHoldMs;
    const now = Date.now();
    const remaining = [...s.held.values()].map((start) => Math.max(0, mean - (now - start))).sort((a, b) => a - b);
    const ms = (remaining[ahead % limit] ?? 0) + Math.floor(ahead / limit) * mean;
    return rateLimited(
      `The organization already has ${limit} ${what}, its limit; try again when one of them is done.`,
      ms,
    );
  };

  const grant = (orgId: string, s: OrgState): OrgSlot => {
    let released = false;
    const slot: OrgSlot = {
      release() {
        if (released) return;
        released = true;
        const start = s.held.get(slot)!;
        s.held.delete(slot);
        const took = Date.now() - start;
        s.meanHoldMs = s.meanHoldMs === undefined ? took : s.meanHoldMs + EWMA_WEIGHT * (took - s.meanHoldMs);
        const next = s.queue.shift();
        if (next) {
          clearTimeout(next.timer);
          next.grant(grant(orgId, s));
        } else prune();
      },
    };
    s.held.set(slot, Date.now());
    return slot;
  };

  const acquire = (orgId: string): Promise<OrgSlot> => {
    prune(); // before stateOf: the organization asking is then the most recently used, never the one forgotten
    const s = stateOf(orgId);
    if (s.held.size < limit && s.queue.length === 0) return Promise.resolve(grant(orgId, s));
    if (maxWaitMs <= 0 || s.queue.length >= maxWaiting) return Promise.reject(refusal(s, s.queue.length));
    return new Promise<OrgSlot>((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          const at = s.queue.indexOf(waiter);
          s.queue.splice(at, 1);
          reject(refusal(s, at));
        }, maxWaitMs),
      };
      s.queue.push(waiter);
    });
  };

  return {
    limit,
    acquire,
    async run(orgId, fn) {
      const slot = await acquire(orgId);
      try {
        return await fn();
      } finally {
        slot.release();
      }
    },
    inFlight: (orgId) => orgs.get(orgId)?.held.size ?? 0,
    waiting: (orgId) => orgs.get(orgId)?.queue.length ?? 0,
  };
}
