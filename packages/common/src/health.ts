/**
 * Liveness and readiness, the same two routes on every service (the Kubernetes probe convention):
 * - `GET /health`: the process answers — 200 `{ "status": "ok" }`, nothing else checked (restart it when this fails);
 * - `GET /ready`: its dependencies answer — 200 `{ "status": "ready", "checks": { "<dependency>": "ok", ... } }`, or
 *   503 `{ "status": "unavailable", "checks": { ..., "<dependency>": "unavailable" } }` when a required one does not
 *   (send it no traffic until it is back). Optional dependencies (e.g. Airflow for the lake: reads and uploads work
 *   without it, runs wait) are reported but do not decide.
 */
import type { Logger } from './logger.ts';
import { sendJson, type Route } from './http.ts';

/** How long one dependency check may take before it counts as unavailable, in milliseconds. */
export const READY_CHECK_TIMEOUT_MS = 3_000;

/** A dependency check: resolves when the dependency answers; `optional` ones are reported without deciding. */
export type DependencyCheck = (() => Promise<unknown>) | { check: () => Promise<unknown>; optional: true };

/** The state of every dependency, checked at once (each bounded by {@link READY_CHECK_TIMEOUT_MS}). */
export async function checkDependencies(
  checks: Readonly<Record<string, DependencyCheck>>,
  logger: Logger,
): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'unavailable'> }> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, c]) => {
      const run = typeof c === 'function' ? c : c.check;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          run(),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer within ${READY_CHECK_TIMEOUT_MS} ms`)),
              READY_CHECK_TIMEOUT_MS,
            );
          }),
        ]);
        return [name, 'ok', typeof c !== 'function'] as const;
      } catch (err) {
        logger.warn('readiness check failed', { check: name, err });
        return [name, 'unavailable', typeof c !== 'function'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return {
    ready: results.every(([, state, optional]) => optional || state === 'ok'),
    checks: Object.fromEntries(results.map(([name, state]) => [name, state])),
  };
}

/** The `/health` and `/ready` routes of a service over `checks` (see the module comment). */
export function healthRoutes(checks: Readonly<Record<string, DependencyCheck>>, logger: Logger): Record<string, Route> {
  return {
    '/health': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/ready': async (_req, res) => {
      const r = await checkDependencies(checks, logger);
      sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'unavailable', checks: r.checks });
    },
  };
}
