/**
 * What every benchmark of `bench/` shares: latency statistics, the machine it ran on, a Markdown table printed to
 * stdout and a JSON result written to `.local/bench/<name>.json` (`BENCH_OUT_DIR` overrides the folder). `npm run
 * bench` (bench/run.ts) gathers the tables of one run into `bench/RESULTS.md`, which the README quotes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where results go unless `BENCH_OUT_DIR` says otherwise: `<repo>/.local/bench`. */
export const BENCH_OUT_DIR = process.env.BENCH_OUT_DIR ?? fileURLToPath(new URL('../../.local/bench', import.meta.url));

/** Summary of a latency sample, in milliseconds (nearest-rank percentiles; NaN fields for an empty sample). */
export type LatencyStats = { n: number; mean: number; p50: number; p95: number; p99: number; max: number };

/**
 * Nearest-rank percentile (the smallest value with at least `p`% of the sample at or below it), `p` in (0, 100].
 * @returns NaN for an empty sample.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** {@link LatencyStats} of `samples` (milliseconds; order does not matter, the input is not modified). */
export function latencyStats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return {
    n: s.length,
    mean,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1]! : NaN,
  };
}

/** The machine a result was measured on: CPU model and count, memory (GiB), Node version, load average at the time. */
export type MachineInfo = { cpu: string; cores: number; memoryGiB: number; node: string; loadavg: number[] };

/** {@link MachineInfo} of this machine, now. */
export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** A number for a table cell: `digits` decimals (default 2), `—` for NaN/undefined/null. */
export function fmt(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits);
}

/** A Markdown table (GitHub flavour) of `rows` under `headers`; cells are printed as given. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One table of a benchmark's result: a title, the Markdown text, and notes printed under it (targets, causes). */
export type ResultTable = { title: string; markdown: string; notes?: string[] };

/**
 * Prints `tables` to stdout and writes `{ name, at, machine, quick, tables, data }` to `<BENCH_OUT_DIR>/<name>.json`.
 * `data` holds the raw numbers (anything JSON); `quick`: a smoke run (`--quick` or BENCH_QUICK=1, the flags every
 * benchmark reads). @returns the file written.
 */
export function writeResult(name: string, tables: readonly ResultTable[], data: unknown): string {
  for (const t of tables) {
    process.stdout.write(`\n### ${t.title}\n\n${t.markdown}\n`);
    for (const n of t.notes ?? []) process.stdout.write(`\n${n}\n`);
  }
  mkdirSync(BENCH_OUT_DIR, { recursive: true });
  const file = path.join(BENCH_OUT_DIR, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        name,
        at: new Date().toISOString(),
        machine: machineInfo(),
        quick: process.argv.includes('--quick') || process.env.BENCH_QUICK === '1',
        tables,
        data,
      },
      null,
      2,
    ),
  );
  return file;
}
