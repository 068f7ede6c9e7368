// The stack's memory, read from /proc: each engine's and service's process tree, summed.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The parts of the stack whose memory is reported, in report order. */
export const MEMORY_PARTS = [
  'postgres',
  's3proxy',
  'spark',
  'neo4j',
  'airflow',
  'gateway',
  'auth',
  'chat',
  'lake',
  'graph',
  'launcher',
] as const;
export type MemoryPart = (typeof MEMORY_PARTS)[number];

/** One process as /proc shows it. */
type Proc = { pid: number; ppid: number; comm: string; cmdline: string; state: string };

/** Memory of one part: its processes and their resident (RSS) and proportional (PSS) set sizes, in bytes. */
export type PartMemory = { part: MemoryPart; processes: number; rssBytes: number; pssBytes: number };

/**
 * A measurement of the stack: per part, and the totals. RSS sums count pages shared between processes (PostgreSQL's
 * shared buffers, forked Airflow workers) once per process: an upper bound; PSS divides shared pages among their
 * processes: what the stack costs the machine.
 */
export type StackMemory = { at: string; parts: PartMemory[]; rssBytes: number; pssBytes: number; processes: number };

/**
 * The part a process belongs to, from its command line (nothing for a process that is none of them: it belongs to
 * the part of its nearest ancestor that is one). Rules: a DataPilot service runs `dist/<service>/main.js` or its
 * `src/main.ts`; PostgreSQL's processes are named `postgres`; S3Proxy, Spark (its JVM: `org.apache.spark`), Neo4j
 * (`org.neo4j`, or its `neo4j/lib` class path: infra/neo4j's launcher) are Java processes naming their main class or
 * jar; Airflow's components run the `airflow` command.
 */
export function partOf(p: { comm: string; cmdline: string }): MemoryPart | undefined {
  const service =
    /dist\/(gateway|auth|chat|lake|graph)\/main\.js|(?:^|[\s/])(gateway|subgraphs\/(auth|chat|lake|graph))\/src\/main\.ts/.exec(
      p.cmdline,
    );
  if (service) return (service[1] ?? service[3] ?? service[2]) as MemoryPart;
  if (p.comm === 'postgres' || /\/bin\/postgres(\s|$)/.test(p.cmdline)) return 'postgres';
  if (/s3proxy/i.test(p.cmdline)) return 's3proxy';
  if (/org\.apache\.spark|SparkConnectServer/.test(p.cmdline)) return 'spark';
  if (/org\.neo4j|\/neo4j\/(lib|classes)\b/.test(p.cmdline)) return 'neo4j';
  if (/(^|\/|\s)airflow(\s|$)/.test(p.cmdline) || p.comm.startsWith('airflow')) return 'airflow';
  return undefined;
}

/** Every process of the machine (those that vanish while being read are skipped). */
function processTable(): Map<number, Proc> {
  const table = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, ppid] = stat.slice(close + 2).split(' ');
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      table.set(Number(name), { pid: Number(name), ppid: Number(ppid), comm, cmdline, state: state ?? '' });
    } catch {
      // ended meanwhile
    }
  }
  return table;
}

/** RSS and PSS of one process in bytes (`/proc/<pid>/smaps_rollup`); zeros when it is gone or unreadable. */
function processMemory(pid: number): { rss: number; pss: number } {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('Rss'), pss: kb('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** The pids listening on TCP `port` (any address), from /proc/net/tcp{,6} and the processes' socket descriptors. */
function listeners(port: number, table: Map<number, Proc>): number[] {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is field 9.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  const pids: number[] = [];
  if (!inodes.size) return pids;
  for (const pid of table.keys()) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) {
          pids.push(pid);
          break;
        }
      }
    } catch {
      // not ours to read, or ended
    }
  }
  return pids;
}

function safeReadlink(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}

/** Options of {@link measureStackMemory}. */
export type MeasureOptions = {
  /**
   * The process whose descendants are the stack (default this process: `npm start`, or a benchmark that started
   * its engines and services). It counts as `launcher` itself when `includeRoot` is true (default false).
   */
  rootPid?: number;
  includeRoot?: boolean;
  /**
   * Engines running outside that tree (started by someone else, given by address): the TCP ports they listen on, by
   * part. The listening process, its ancestors of the same part and their siblings of the same part (Airflow's
   * scheduler and dag-processor next to its api-server), with all their descendants, are counted.
   */
  ports?: Partial<Record<MemoryPart, number>>;
};

/**
 * Measures the stack's memory from /proc (Linux): every descendant of `rootPid` is assigned to a part by
 * {@link partOf} (its own command line, else its nearest classified ancestor's), and engines given by port are
 * added with their process trees. Parts with no process are left out.
 * @returns per part and in total: processes, RSS and PSS in bytes.
 */
export function measureStackMemory(opts: MeasureOptions = {}): StackMemory {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const p of table.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const assigned = new Map<number, MemoryPart>();
  const walk = (pid: number, inherited: MemoryPart | undefined) => {
    const p = table.get(pid);
    if (!p || assigned.has(pid)) return;
    const part = partOf(p) ?? inherited;
    if (part) assigned.set(pid, part);
    for (const c of children.get(pid) ?? []) walk(c, part);
  };
  const root = opts.rootPid ?? process.pid;
  for (const c of children.get(root) ?? []) walk(c, undefined);
  // Unclassified descendants (a tsx wrapper, esbuild's service) are the launcher's.
  const descendants = (pid: number): number[] => (children.get(pid) ?? []).flatMap((c) => [c, ...descendants(c)]);
  for (const pid of descendants(root)) if (!assigned.has(pid)) assigned.set(pid, 'launcher');
  if (opts.includeRoot) assigned.set(root, 'launcher');

  for (const [part, port] of Object.entries(opts.ports ?? {}) as Array<[MemoryPart, number]>) {
    for (const pid of listeners(port, table)) {
      if (assigned.has(pid)) continue;
      // Up through the processes of this part and unclassified wrappers (Airflow runs each component under a small
      // Python supervisor), stopping below whoever launched the engine (a Node process, or init).
      let top = pid;
      for (let up = table.get(top)!.ppid; up > 1 && table.has(up); up = table.get(top)!.ppid) {
        const u = table.get(up)!;
        const same = partOf(u) === part || (partOf(u) === undefined && !/^(node|tsx|npm|sh|bash)/.test(u.comm));
        if (!same) break;
        top = up;
      }
      const parent = table.get(top)!.ppid;
      // The launcher's other children that are this part, or wrap only this part (Airflow's scheduler and
      // dag-processor next to its api-server).
      const only = (root: number) => {
        const parts = new Set([root, ...descendants(root)].map((d) => partOf(table.get(d)!)).filter(Boolean));
        return parts.size === 1 && parts.has(part);
      };
      const siblings = (children.get(parent) ?? []).filter((s) => s === top || only(s));
      for (const s of siblings) for (const d of [s, ...descendants(s)]) if (!assigned.has(d)) assigned.set(d, part);
    }
  }

  const parts = new Map<MemoryPart, PartMemory>();
  for (const [pid, part] of assigned) {
    if (table.get(pid)?.state === 'Z') continue; // exited, not yet reaped: no memory
    const m = processMemory(pid);
    const e = parts.get(part) ?? { part, processes: 0, rssBytes: 0, pssBytes: 0 };
    e.processes += 1;
    e.rssBytes += m.rss;
    e.pssBytes += m.pss;
    parts.set(part, e);
  }
  const list = MEMORY_PARTS.flatMap((p) => (parts.has(p) ? [parts.get(p)!] : []));
  return {
    at: new Date().toISOString(),
    parts: list,
    rssBytes: list.reduce((s, p) => s + p.rssBytes, 0),
    pssBytes: list.reduce((s, p) => s + p.pssBytes, 0),
    processes: list.reduce((s, p) => s + p.processes, 0),
  };
}

/** The ports of engines given by address in `env` (DATABASE_URL, S3_ENDPOINT, SPARK_REMOTE, NEO4J_URI, AIRFLOW_URL). */
export function enginePortsFromEnv(env: NodeJS.ProcessEnv): Partial<Record<MemoryPart, number>> {
  const port = (url: string | undefined, fallback: number) => {
    if (!url) return undefined;
    try {
      const u = new URL(url);
      return u.port ? Number(u.port) : fallback;
    } catch {
      return undefined;
    }
  };
  const entries: Array<[MemoryPart, number | undefined]> = [
    ['postgres', port(env.DATABASE_URL, 5432)],
    ['s3proxy', port(env.S3_ENDPOINT, 80)],
    ['spark', port(env.SPARK_REMOTE, 15002)],
    ['neo4j', port(env.NEO4J_URI, 7687)],
    ['airflow', port(env.AIRFLOW_URL, 80)],
  ];
  return Object.fromEntries(entries.filter(([, p]) => p !== undefined));
}

/** The stack's target on one machine: under 4.5 GB (issue 9). */
export const STACK_MEMORY_BUDGET_BYTES = 4.5e9;

const gb = (bytes: number) => (bytes / 1e9).toFixed(2);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/**
 * The measurement as text lines: one per part (`postgres   12 processes   RSS 312 MiB   PSS 120 MiB`) and the total
 * against {@link STACK_MEMORY_BUDGET_BYTES}.
 */
export function formatStackMemory(m: StackMemory): string[] {
  const lines = m.parts.map(
    (p) =>
      `  ${p.part.padEnd(9)} ${String(p.processes).padStart(3)} process${p.processes === 1 ? ' ' : 'es'}` +
      `  RSS ${mib(p.rssBytes).padStart(5)} MiB  PSS ${mib(p.pssBytes).padStart(5)} MiB`,
  );
  const over = m.rssBytes > STACK_MEMORY_BUDGET_BYTES;
  lines.push(
    `  total ${m.processes} processes: RSS ${gb(m.rssBytes)} GB (PSS ${gb(m.pssBytes)} GB); ` +
      `${over ? 'OVER' : 'under'} the ${gb(STACK_MEMORY_BUDGET_BYTES)} GB budget`,
  );
  return lines;
}

/** The measurement as a Markdown table (part, processes, RSS MiB, PSS MiB; a total row). */
export function stackMemoryTable(m: StackMemory): string {
  const rows = m.parts.map((p) => `| ${p.part} | ${p.processes} | ${mib(p.rssBytes)} | ${mib(p.pssBytes)} |`);
  return [
    '| part | processes | RSS (MiB) | PSS (MiB) |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
    `| **total** | ${m.processes} | ${mib(m.rssBytes)} | ${mib(m.pssBytes)} |`,
  ].join('\n');
}
