import type { Driver, Result, Session } from 'neo4j-driver';
import { startStatementSpan, traceStatement, tracingEnabled } from '@datapilot/common';

/** A Cypher query as the driver takes it: the text, or `{ text, parameters }`. */
type Query = string | { text: string };
const textOf = (query: Query) => (typeof query === 'string' ? query : query.text);

/**
 * Starts a span for the Cypher `query` and ends it when `result` completes or fails. Subscribing an observer
 * without `onNext` leaves the records queued for the caller, so the Result streams, awaits and iterates as usual.
 */
function traced(query: Query, result: Result): Result {
  const span = startStatementSpan('neo4j', textOf(query));
  if (span) result.subscribe({ onCompleted: () => span.end(), onError: (e) => span.end(e) });
  return result;
}

/** `target` with the members `overrides` names replaced; every other member read from, and bound to, `target`. */
function withOverrides<T extends object>(target: T, overrides: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof T];
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}

/** `session` whose statements (`run`, and `run` inside `executeRead` / `executeWrite`) are spans. */
function traceSession(session: Session): Session {
  type Work = Parameters<Session['executeRead']>[0];
  const managed =
    (mode: 'executeRead' | 'executeWrite') => (work: Work, config?: Parameters<Session['executeRead']>[1]) =>
      session[mode](
        (tx) =>
          work(
            withOverrides(tx, { run: (q: Query, params?: Record<string, unknown>) => traced(q, tx.run(q, params)) }),
          ),
        config,
      );
  return withOverrides(session, {
    run: (q: Query, params?: Record<string, unknown>, config?: Parameters<Session['run']>[2]) =>
      traced(q, session.run(q, params, config)),
    executeRead: managed('executeRead'),
    executeWrite: managed('executeWrite'),
  });
}

/**
 * The driver the graph subgraph hands @neo4j/graphql, with a span per Cypher query when tracing is on: each
 * `session()` it opens runs its statements (`executeRead` / `executeWrite` transactions, `run`) as spans `neo4j
 * <operation>` with `db.statement` = the Cypher text (never the parameters, which hold the org id and the client's
 * values), children of the request's span (`startStatementSpan`, tracing.ts); `executeQuery` too. Everything else
 * is the driver itself. When tracing is off, returns `driver` unchanged.
 */
export function traceCypher(driver: Driver): Driver {
  if (!tracingEnabled()) return driver;
  return withOverrides(driver, {
    session: (config?: Parameters<Driver['session']>[0]) => traceSession(driver.session(config)),
    executeQuery: (q: Query, params?: Record<string, unknown>, config?: Parameters<Driver['executeQuery']>[2]) =>
      traceStatement('neo4j', textOf(q), () => driver.executeQuery(q, params, config)),
  });
}
