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

/**
 * `scalar DateTime`: an instant as ISO 8601 in UTC with milliseconds (`Date.prototype.toISOString`). Output only in
 * practice: serializes a Date or an ISO string; as input it accepts ISO 8601 date-times with a zone designator.
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

function parseDateTime(v: unknown): Date {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v))
    throw new TypeError('DateTime must be an ISO 8601 date-time with a zone, e.g. 2026-01-02T03:04:05Z');
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new TypeError('DateTime must be a real instant');
  return d;
}
