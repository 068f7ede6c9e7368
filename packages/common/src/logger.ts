import { currentTraceFields } from './tracing.ts';

/**
 * A structured JSON logger: one JSON object a line on stderr, with `time`, `level`, `service` and `msg`, and
 * `traceId` and `spanId` while a traced request runs (tracing.ts).
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry `fields` too (a request id, an org id). */
  child(fields: Record<string, unknown>): Logger;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Keys whose values are never written: tokens, passwords, cookies, secrets, keys. */
const REDACT = /token|password|authorization|cookie|secret|private|jwk/i;

/** Returns `value` with every field named like a secret replaced by "[redacted]" (deep, cycle-safe to depth 6). */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = REDACT.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

/**
 * Creates a logger for `service`. Lines below `level` (default `info`, or `LOG_LEVEL` as passed by the
 * entry point) are dropped.
 */
export function createLogger(service: string, level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  const min = LEVELS[level];
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    const line = {
      time: new Date().toISOString(),
      level: lvl,
      service,
      msg,
      // While a traced request runs (tracing.ts): its trace and span ids, to find the line from the trace.
      ...currentTraceFields(),
      ...(redact({ ...base, ...fields }) as object),
    };
    process.stderr.write(JSON.stringify(line) + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(service, level, { ...base, ...fields }),
  };
}

/**
 * Apollo Server's own log messages (its `logger` option) as lines of `logger`; Apollo's `info`
 * chatter goes to debug.
 */
export function apolloLogger(logger: Logger) {
  const text = (args: unknown[]) => args.map(String).join(' ');
  return {
    debug: (...a: unknown[]) => logger.debug(text(a)),
    info: (...a: unknown[]) => logger.debug(text(a)),
    warn: (...a: unknown[]) => logger.warn(text(a)),
    error: (...a: unknown[]) => logger.error(text(a)),
  };
}
