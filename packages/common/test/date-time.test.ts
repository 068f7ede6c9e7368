// The one DateTime scalar (src/json-scalar.ts), no I/O: every expected text is worked out by hand from RFC 3339 and
// the offsets written in the inputs.
import { Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DateTimeScalar } from '../src/index.ts';

const parsed = (v: unknown) => {
  try {
    return DateTimeScalar.parseValue(v).toISOString();
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
};

describe('DateTime', () => {
  it('serializes as ISO 8601 UTC with milliseconds, sub-milliseconds cut', () => {
    expect(DateTimeScalar.serialize(new Date(Date.UTC(2026, 11, 2, 8, 15)))).toBe('2026-12-02T08:15:00.000Z');
    expect(DateTimeScalar.serialize('2026-12-02T09:15:00.123456789+01:00')).toBe('2026-12-02T08:15:00.123Z');
    expect(DateTimeScalar.serialize('2025-01-02T03:04:05.999999Z')).toBe('2025-01-02T03:04:05.999Z');
    expect(() => DateTimeScalar.serialize('not a time')).toThrow('DateTime cannot represent an invalid date');
  });

  it.each([
    ['2027-06-01T02:00:00+02:00', '2027-06-01T00:00:00.000Z'],
    ['2027-06-01T00:00:00.25Z', '2027-06-01T00:00:00.250Z'],
    ['2027-05-31T19:30-05:30', '2027-06-01T01:00:00.000Z'], // no seconds; 19:30 + 5:30
    ['2028-02-29T23:59:59.999999999Z', '2028-02-29T23:59:59.999Z'], // a leap day; nanoseconds cut
    ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'], // a two-digit year is not 1999
  ])('parses %s as %s', (text, iso) => {
    expect(parsed(text)).toBe(iso);
    expect(DateTimeScalar.parseLiteral({ kind: Kind.STRING, value: text }).toISOString()).toBe(iso);
  });

  it.each([
    ['2027-06-01', 'DateTime must be an ISO 8601 date-time with a zone, e.g. 2026-01-02T03:04:05Z'], // no time
    ['2027-06-01T00:00:00', 'DateTime must be an ISO 8601 date-time with a zone, e.g. 2026-01-02T03:04:05Z'], // no zone
    ['next week', 'DateTime must be an ISO 8601 date-time with a zone, e.g. 2026-01-02T03:04:05Z'],
    [1_700_000_000_000, 'DateTime must be an ISO 8601 date-time with a zone, e.g. 2026-01-02T03:04:05Z'],
    ['2027-02-30T00:00:00Z', 'DateTime must be a real instant: 2027-02-30T00:00:00Z is not'], // no such day
    ['2027-02-29T00:00:00Z', 'DateTime must be a real instant: 2027-02-29T00:00:00Z is not'], // 2027 is not leap
    ['2027-01-01T24:00:00Z', 'DateTime must be a real instant: 2027-01-01T24:00:00Z is not'],
    ['2027-01-01T23:59:60Z', 'DateTime must be a real instant: 2027-01-01T23:59:60Z is not'], // no leap second
    ['2027-01-01T00:00:00+24:00', 'DateTime must be a real instant: 2027-01-01T00:00:00+24:00 is not'],
  ])('refuses %s', (value, message) => {
    expect(parsed(value)).toBe(`refused: ${message}`);
  });

  it('refuses a literal that is not a string', () => {
    expect(() => DateTimeScalar.parseLiteral({ kind: Kind.INT, value: '1' })).toThrow('DateTime must be a string');
  });
});
