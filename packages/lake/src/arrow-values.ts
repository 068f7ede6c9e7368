import { Type, util, type DataType as ArrowType, type Field, type Table } from 'apache-arrow';

/** A result column: Spark SQL type name (as `DESCRIBE` prints it, e.g. `bigint`, `decimal(10,2)`), nullability. */
export type ColumnInfo = { name: string; type: string; nullable: boolean };

/** Spark's `DataType` message as decoded by proto-loader with `oneofs: true` (only what we read). */
export type SparkDataType = {
  kind?: string;
  decimal?: { precision?: number; scale?: number };
  char?: { length?: number };
  var_char?: { length?: number };
  array?: { element_type?: SparkDataType };
  map?: { key_type?: SparkDataType; value_type?: SparkDataType };
  struct?: { fields?: { name: string; data_type?: SparkDataType; nullable?: boolean }[] };
};

const SIMPLE_NAMES: Record<string, string> = {
  null: 'void',
  binary: 'binary',
  boolean: 'boolean',
  byte: 'tinyint',
  short: 'smallint',
  integer: 'int',
  long: 'bigint',
  float: 'float',
  double: 'double',
  string: 'string',
  date: 'date',
  timestamp: 'timestamp',
  timestamp_ntz: 'timestamp_ntz',
  calendar_interval: 'interval',
  year_month_interval: 'interval year to month',
  day_time_interval: 'interval day to second',
  variant: 'variant',
  time: 'time',
};

/**
 * The Spark SQL name (`simpleString`) of a primitive type named as Spark Connect's `DataType` oneof and the Delta
 * schema format name it (`long` → `bigint`, `integer` → `int`, `byte` → `tinyint`); an unknown name is returned as is.
 */
export const simpleTypeName = (kind: string): string => SIMPLE_NAMES[kind] ?? kind;

/** The Spark SQL name of a Spark Connect `DataType` (Spark's `simpleString`). */
export function sparkTypeName(t: SparkDataType | undefined): string {
  const kind = t?.kind;
  if (!t || !kind) return 'unknown';
  switch (kind) {
    case 'decimal':
      return `decimal(${t.decimal?.precision ?? 10},${t.decimal?.scale ?? 0})`;
    case 'char':
      return `char(${t.char?.length ?? 0})`;
    case 'var_char':
      return `varchar(${t.var_char?.length ?? 0})`;
    case 'array':
      return `array<${sparkTypeName(t.array?.element_type)}>`;
    case 'map':
      return `map<${sparkTypeName(t.map?.key_type)},${sparkTypeName(t.map?.value_type)}>`;
    case 'struct':
      return `struct<${(t.struct?.fields ?? []).map((f) => `${f.name}:${sparkTypeName(f.data_type)}`).join(',')}>`;
    default:
      return simpleTypeName(kind);
  }
}

/** The Spark SQL name of an Arrow type as Spark sends it (used when the response carries no Spark schema). */
export function arrowTypeName(t: ArrowType): string {
  switch (t.typeId) {
    case Type.Null:
      return 'void';
    case Type.Bool:
      return 'boolean';
    case Type.Int: {
      const bits = (t as unknown as { bitWidth: number }).bitWidth;
      return bits === 8 ? 'tinyint' : bits === 16 ? 'smallint' : bits === 32 ? 'int' : 'bigint';
    }
    case Type.Float:
      return (t as unknown as { precision: number }).precision === 1 ? 'float' : 'double';
    case Type.Decimal: {
      const d = t as unknown as { precision: number; scale: number };
      return `decimal(${d.precision},${d.scale})`;
    }
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'string';
    case Type.Binary:
    case Type.LargeBinary:
      return 'binary';
    case Type.Date:
      return 'date';
    case Type.Timestamp:
      return (t as unknown as { timezone?: string | null }).timezone ? 'timestamp' : 'timestamp_ntz';
    case Type.List:
    case Type.FixedSizeList:
      return `array<${arrowTypeName(t.children[0]!.type)}>`;
    case Type.Struct:
      return `struct<${t.children.map((c: Field) => `${c.name}:${arrowTypeName(c.type)}`).join(',')}>`;
    case Type.Map: {
      const entries = t.children[0]!.type;
      return `map<${arrowTypeName(entries.children[0]!.type)},${arrowTypeName(entries.children[1]!.type)}>`;
    }
    default:
      return String(t).toLowerCase();
  }
}

/** bigint → number when it is a safe integer, else its decimal string (JSON has no 64-bit integers). */
export function jsonSafeBigInt(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Epoch milliseconds (fraction = sub-millisecond digits) → ISO 8601 with up to microsecond precision. */
function isoFromEpochMs(ms: number, utc: boolean): string {
  const micros = Math.round(ms * 1000);
  const wholeMs = Math.floor(micros / 1000);
  const extra = micros - wholeMs * 1000;
  let iso = new Date(wholeMs).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  if (extra !== 0) iso = iso.replace('Z', `${pad(extra, 3)}Z`);
  return utc ? iso : iso.slice(0, -1);
}

function decimalToNumber(v: unknown, scale: number): number {
  const unscaled = util.bigNumToBigInt(v as Parameters<typeof util.bigNumToBigInt>[0]);
  if (scale <= 0) return Number(unscaled);
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return Number(`${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`);
}

/**
 * Converts one Arrow value (as `Vector.get` returns it) to a JSON-safe value:
 * 64-bit integers → number when safe, else decimal string; decimals → number; DATE → `YYYY-MM-DD`;
 * TIMESTAMP → ISO 8601 UTC with `Z`; TIMESTAMP_NTZ → ISO 8601 without zone; binary → base64;
 * NaN/±Infinity → their names as strings; arrays, structs and maps → JSON arrays/objects (map keys as strings).
 */
export function toJsonValue(v: unknown, t: ArrowType): unknown {
  if (v === null || v === undefined) return null;
  switch (t.typeId) {
    case Type.Int:
      return typeof v === 'bigint' ? jsonSafeBigInt(v) : v;
    case Type.Float:
      return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
    case Type.Decimal:
      return decimalToNumber(v, (t as unknown as { scale: number }).scale);
    case Type.Date:
      return new Date(v as number).toISOString().slice(0, 10);
    case Type.Timestamp:
      return isoFromEpochMs(v as number, Boolean((t as unknown as { timezone?: string | null }).timezone));
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return Buffer.from(v as Uint8Array).toString('base64');
    case Type.List:
    case Type.FixedSizeList: {
      const child = t.children[0]!.type;
      return Array.from(v as Iterable<unknown>, (x) => toJsonValue(x, child));
    }
    case Type.Struct: {
      const row = v as Record<string, unknown>;
      return Object.fromEntries(t.children.map((c: Field) => [c.name, toJsonValue(row[c.name], c.type)]));
    }
    case Type.Map: {
      const entries = t.children[0]!.type;
      const [kt, vt] = [entries.children[0]!.type, entries.children[1]!.type];
      const out: Record<string, unknown> = {};
      for (const [k, val] of v as Iterable<[unknown, unknown]>) {
        const key = toJsonValue(k, kt);
        out[typeof key === 'string' ? key : JSON.stringify(key)] = toJsonValue(val, vt);
      }
      return out;
    }
    default:
      if (typeof v === 'bigint') return jsonSafeBigInt(v);
      if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
      return String(v);
  }
}

/** Appends the rows of an Arrow table to `out`, each as an array of JSON-safe values in column order. */
export function appendRows(table: Table, out: unknown[][]): void {
  const fields = table.schema.fields;
  const cols = fields.map((_, i) => table.getChildAt(i)!);
  for (let r = 0; r < table.numRows; r++) {
    const row = new Array<unknown>(fields.length);
    for (let c = 0; c < fields.length; c++) row[c] = toJsonValue(cols[c]!.get(r), fields[c]!.type);
    out.push(row);
  }
}
