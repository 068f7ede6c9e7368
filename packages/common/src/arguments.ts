/**
 * Checks of GraphQL arguments that every subgraph shares, one rule each. Each throws BAD_USER_INPUT naming the
 * argument (`extensions.field`) before anything is read or written.
 */
import { badUserInput } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID argument (RFC 9562 text form, any case), lower-cased. @throws BAD_USER_INPUT naming `field` otherwise. */
export function uuidArg(value: string, field: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw badUserInput(`${field} must be a UUID.`, field);
  return value.toLowerCase();
}

/** An unpaired UTF-16 surrogate (with the `u` flag a proper pair is one code point, not `Cs`). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A trimmed text of 1..max characters (UTF-16 code units) that PostgreSQL can store as given.
 * @throws BAD_USER_INPUT naming `field` when empty or too long; when it holds U+0000 (PostgreSQL text cannot: it
 *   failed as INTERNAL, QA finding F5); or an unpaired surrogate (not Unicode: the driver would silently store
 *   U+FFFD instead).
 */
export function textArg(value: string, field: string, max: number): string {
  if (value.includes('\u0000')) throw badUserInput(`${field} must not contain the NUL character (U+0000).`, field);
  if (LONE_SURROGATE.test(value))
    throw badUserInput(`${field} must be valid Unicode (it has an unpaired surrogate).`, field);
  const t = value.trim();
  if (!t) throw badUserInput(`${field} must not be empty.`, field);
  if (t.length > max) throw badUserInput(`${field} must be at most ${max} characters.`, field);
  return t;
}
