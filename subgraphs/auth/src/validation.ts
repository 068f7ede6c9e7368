/**
 * Input rules of signup, in one place. Each failure is BAD_USER_INPUT naming the field (`email`,
 * `password` or `orgName`, the fields of SignupInput).
 */
import { badUserInput } from '@datapilot/common';

/** Longest email accepted: 254 characters (RFC 5321 §4.5.3.1.3 path limit minus the angle brackets). */
export const MAX_EMAIL_LENGTH = 254;
/** Shortest password accepted, in characters (Unicode code points). */
export const MIN_PASSWORD_LENGTH = 10;
/** Longest password accepted, in characters; long passphrases are welcome, megabytes are not. */
export const MAX_PASSWORD_LENGTH = 1024;
/** Longest organization name, in characters after trimming. */
export const MAX_ORG_NAME_LENGTH = 100;

// local part: 1–64 characters without spaces or "@" (RFC 5321 §4.5.3.1.1 limit); domain: dot-separated
// ASCII labels (an internationalised domain must be given in its punycode form), a TLD of letters.
// Control characters (NUL among them) are refused anywhere.
const EMAIL = /^[^\s@\p{Cc}]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/u;

/**
 * The canonical form of an email: trimmed and lower-cased. Both signup and login use it, so
 * "Alice@Example.org " and "alice@example.org" are one account. (Strictly the local part is case-sensitive
 * per RFC 5321 §2.4; no mainstream provider treats it so, and one account per mailbox is what users expect.)
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Normalises and checks an email. @throws BAD_USER_INPUT (field `email`). */
export function checkEmail(email: string): string {
  const e = normalizeEmail(email);
  if (e.length > MAX_EMAIL_LENGTH || !EMAIL.test(e)) throw badUserInput('Enter a valid email address.', 'email');
  return e;
}

/**
 * The password rule: at least {@link MIN_PASSWORD_LENGTH} characters, at most {@link MAX_PASSWORD_LENGTH}, and
 * characters from at least two of four classes — lower-case letters (Unicode Ll), upper-case letters (Lu),
 * decimal digits (Nd), anything else (spaces, punctuation, symbols, letters without case). So
 * "aaaaaaaaaaaa" and "1234567890" are refused, "correct horse battery" (letters + spaces) is accepted.
 * Length is what matters most (NIST SP 800-63B §3.1.1.2 asks for length and no composition rules); the
 * two-class minimum is DataPilot's product rule against the most common single-class passwords.
 * @throws BAD_USER_INPUT (field `password`) with a message that states the rule.
 */
export function checkPasswordStrength(password: string): void {
  const chars = [...password];
  if (chars.length < MIN_PASSWORD_LENGTH)
    throw badUserInput(`The password must have at least ${MIN_PASSWORD_LENGTH} characters.`, 'password');
  if (chars.length > MAX_PASSWORD_LENGTH)
    throw badUserInput(`The password must have at most ${MAX_PASSWORD_LENGTH} characters.`, 'password');
  const classes = new Set(
    chars.map((c) =>
      /\p{Ll}/u.test(c) ? 'lower' : /\p{Lu}/u.test(c) ? 'upper' : /\p{Nd}/u.test(c) ? 'digit' : 'other',
    ),
  );
  if (classes.size < 2)
    throw badUserInput(
      'The password must mix at least two of: lower-case letters, upper-case letters, digits, other characters.',
      'password',
    );
}

/** Trims and checks an organization name (1–100 characters, no control characters). @throws BAD_USER_INPUT (field `orgName`). */
export function checkOrgName(name: string): string {
  const n = name.trim();
  if (n.length < 1 || [...n].length > MAX_ORG_NAME_LENGTH || /\p{Cc}/u.test(n))
    throw badUserInput(`The organization name must have 1 to ${MAX_ORG_NAME_LENGTH} characters.`, 'orgName');
  return n;
}
