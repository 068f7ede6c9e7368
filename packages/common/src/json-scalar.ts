import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';

function literal(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value)]));
    case Kind.LIST:
      return ast.values.map(literal);
    case Kind.NULL:
      return null;
    default:
      return undefined;
  }
}

/** `scalar JSON`: any JSON value (RFC 8259), serialized as is. Used for result rows. */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value (RFC 8259).',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literal,
});

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/**
 * `scalar JSONObject`: a JSON object (RFC 8259 section 4: `{ "name": value, ... }`), e.g. a lake row keyed by column
 * name or a set of HTTP headers. Serializing anything else (an array, a string, null) is a server bug and fails the
 * field; as input, anything but an object is refused (BAD_USER_INPUT as a variable, a validation error inline).
 */
export const JSONObjectScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: 'JSONObject',
  description: 'A JSON object (RFC 8259): keys are strings; values are any JSON values.',
  serialize(v) {
    if (!isPlainObject(v)) throw new TypeError('JSONObject cannot represent a value that is not an object');
    return v;
  },
  parseValue(v) {
    if (!isPlainObject(v)) throw new TypeError('JSONObject must be an object');
    return v;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.OBJECT) throw new TypeError('JSONObject must be an object');
    return literal(ast) as Record<string, unknown>;
  },
});

/**
 * `scalar DateTime`, the one time type of every subgraph: an instant, written as ISO 8601 in UTC with milliseconds
 * (`Date.prototype.toISOString`, e.g. `2026-12-02T08:15:00.000Z`). Serializes a Date or a string `Date` reads
 * (sub-millisecond digits are cut, not rounded: `.1239` gives `.123`), the way @neo4j/graphql's generated
 * `DateTime` serializes too (`new Date(value).toISOString()`), so a time reads the same from every subgraph.
 * As input (a variable or a literal) it takes an RFC 3339 date-time: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with `Z` or
 * an offset `±HH:MM`, every field in range as written (no February 30, no 24:00, no leap second), and gives a Date.
 * Anything else is refused: as a variable the request answers BAD_USER_INPUT (Apollo Server's code for a variable
 * that does not coerce) with a message naming the variable; written inline, the document fails validation.
 */
export const DateTimeScalar: GraphQLScalarType<Date, string> = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant as an ISO 8601 string in UTC with milliseconds.',
  serialize(v) {
    const d = v instanceof Date ? v : new Date(String(v));
    if (Number.isNaN(d.getTime())) throw new TypeError('DateTime cannot represent an invalid date');
    return d.toISOString();
  },
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new TypeError('DateTime must be a string');
    return parseDateTime(ast.value);
  },
});

/** RFC 3339 `date-time` (section 5.6): date, `T`, time with optional seconds and fraction, `Z` or `±HH:MM`. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

function parseDateTime(v: unknown): Date {
  const m = typeof v === 'string' ? DATE_TIME.exec(v) : null;
  if (!m) throw new TypeError('DateTime must be an ISO 8601 date-time with a zone, e.g. 2026-01-02T03:04:05Z');
  const n = (i: number) => Number(m[i] ?? 0);
  const fields = [n(1), n(2), n(3), n(4), n(5), n(6)];
  // Every field in range as written: Date would turn February 30 into March 2, so read the fields back.
  const t = new Date(0);
  t.setUTCFullYear(n(1), n(2) - 1, n(3));
  t.setUTCHours(n(4), n(5), n(6), 0);
  const read = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes()];
  if (read.concat(t.getUTCSeconds()).some((x, i) => x !== fields[i]) || n(9) > 23 || n(10) > 59)
    throw new TypeError(`DateTime must be a real instant: ${v as string} is not`);
  const offsetMinutes = (m[8] === '-' ? -1 : 1) * (n(9) * 60 + n(10));
  return new Date(t.getTime() + Math.trunc(Number(m[7] ?? 0) * 1000) - offsetMinutes * 60_000);
}
