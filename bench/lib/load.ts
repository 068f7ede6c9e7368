/**
 * HTTP load for the benchmarks: `autocannon` (in this process) POSTing one body to one URL over a fixed number of
 * keep-alive connections for a fixed time, recording every response's latency.
 */
import { createRequire } from 'node:module';

/** The slice of autocannon's API used here (the package ships no types). */
type AutocannonInstance = {
  on(event: 'response', fn: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void;
  on(event: 'done', fn: (result: AutocannonResult) => void): void;
  stop(): void;
};
type AutocannonResult = { errors: number; timeouts: number; mismatches: number; non2xx: number };
type Autocannon = (
  opts: Record<string, unknown>,
  cb?: (err: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** One load run: what was sent and what came back. */
export type LoadResult = {
  /** Responses with a 2xx status and the expected body. */
  ok: number;
  /** Wall time of the run, in seconds. */
  seconds: number;
  /** ok / seconds. */
  rps: number;
  /** Latency of every response (any status), in milliseconds, in arrival order. */
  latenciesMs: number[];
  /** Responses with another status or another body than `expectBody`, socket errors and timeouts. */
  failures: number;
};

/**
 * Runs `connections` connections against `url` for `seconds`, each sending `POST body` (JSON) with `headers` and
 * waiting for the answer before sending again (no pipelining).
 * @param opts.expectBody the exact response body every request must get (a mismatch counts as a failure).
 */
export function runLoad(opts: {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
  expectBody?: string;
}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    let ok2xx = 0;
    const started = performance.now();
    const instance = autocannon(
      {
        url: opts.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        body: opts.body,
        connections: opts.connections,
        pipelining: 1,
        duration: opts.seconds,
        timeout: 10,
        ...(opts.expectBody ? { expectBody: opts.expectBody } : {}),
      },
      (err, result) => {
        if (err) return reject(err);
        const seconds = (performance.now() - started) / 1000;
        const failures = result.non2xx + result.errors + result.timeouts + result.mismatches;
        const ok = Math.max(0, ok2xx - result.mismatches);
        resolve({ ok, seconds, rps: ok / seconds, latenciesMs, failures });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      latenciesMs.push(ms);
      if (status >= 200 && status < 300) ok2xx++;
    });
  });
}
