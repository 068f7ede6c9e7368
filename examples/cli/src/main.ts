// `datapilot`: an example command-line client of DataPilot, built on @datapilot/sdk. See examples/cli/README.md.
//   datapilot login                          signs in (DATAPILOT_EMAIL / DATAPILOT_PASSWORD) and keeps the session
//   datapilot whoami                         the signed-in user, organization and role
//   datapilot tables                         the organization's tables
//   datapilot ask "question"                 streams the analyst's answer, then prints its result table
//   datapilot upload FILE --table T [--mode APPEND] [--format CSV]
//                                            uploads with a progress bar, then follows the run to SUCCESS or FAILED
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import {
  createDataPilotClient,
  DataPilotClientError,
  type DataPilotClientOptions,
  type LakeValue,
  type Session,
} from '@datapilot/sdk';

const USAGE = `usage:
  datapilot login
  datapilot whoami
  datapilot tables
  datapilot ask "question"
  datapilot upload FILE --table NAME [--mode OVERWRITE|APPEND] [--format CSV|JSON|NDJSON|PARQUET]
environment: DATAPILOT_URL (default http://127.0.0.1:4000/graphql); one of DATAPILOT_API_KEY, DATAPILOT_TOKEN,
  a session kept by \`datapilot login\`, or DATAPILOT_EMAIL and DATAPILOT_PASSWORD; DATAPILOT_SESSION_FILE (default
  ~/.config/datapilot/session.json); DATAPILOT_DOCUMENTS=id|text (default id).`;

/** Thrown for a command line the CLI does not understand (exit code 2). */
class UsageError extends Error {}

const env = process.env;
const sessionFile = env.DATAPILOT_SESSION_FILE || path.join(homedir(), '.config', 'datapilot', 'session.json');

/** The session `datapilot login` kept, when there is one. */
function readSession(): Session | undefined {
  try {
    const s = JSON.parse(readFileSync(sessionFile, 'utf8')) as Session;
    return typeof s.accessToken === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps (or with null removes) the session: the refresh token is single use, so the newest must be saved. */
function writeSession(session: Session | null): void {
  if (!session) return rmSync(sessionFile, { force: true });
  mkdirSync(path.dirname(sessionFile), { recursive: true });
  writeFileSync(sessionFile, JSON.stringify(session, null, 2) + '\n', { mode: 0o600 });
  chmodSync(sessionFile, 0o600);
}

/**
 * The client, with the first credential found: DATAPILOT_API_KEY, DATAPILOT_TOKEN, the kept session, then
 * DATAPILOT_EMAIL + DATAPILOT_PASSWORD (signs in for this run); `login` uses only the last.
 */
function client(forLogin = false) {
  const base: DataPilotClientOptions = {
    url: env.DATAPILOT_URL || 'http://127.0.0.1:4000/graphql',
    webSocketImpl: WebSocket,
    documentMode: env.DATAPILOT_DOCUMENTS === 'text' ? 'text' : 'id',
  };
  const credentials =
    env.DATAPILOT_EMAIL && env.DATAPILOT_PASSWORD
      ? { email: env.DATAPILOT_EMAIL, password: env.DATAPILOT_PASSWORD }
      : undefined;
  const kept = forLogin ? undefined : readSession();
  const options: DataPilotClientOptions = forLogin
    ? base
    : env.DATAPILOT_API_KEY
      ? { ...base, apiKey: env.DATAPILOT_API_KEY }
      : env.DATAPILOT_TOKEN
        ? { ...base, token: env.DATAPILOT_TOKEN }
        : kept
          ? { ...base, token: kept.accessToken, refreshToken: kept.refreshToken }
          : credentials
            ? { ...base, credentials }
            : base;
  const c = createDataPilotClient(options);
  // A kept session follows every renewal (and the login of `datapilot login`).
  if (forLogin || (kept && !env.DATAPILOT_API_KEY && !env.DATAPILOT_TOKEN))
    c.onSessionChange((s) => writeSession(s && { ...kept, ...s }));
  return { c, credentials };
}

/** A cell as text: strings as they are, null as empty, anything else as JSON. */
const cell = (v: LakeValue | undefined) =>
  v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);

/** A table as aligned text: header, a rule, one line per row; numbers right-aligned. */
function formatTable(columns: string[], rows: LakeValue[][]): string {
  const text = rows.map((r) => columns.map((_, i) => cell(r[i])));
  const width = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i]!.length)));
  const numeric = columns.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!)))
      .join(' | ')
      .trimEnd();
  return [line(columns), width.map((w) => '-'.repeat(w)).join('-+-'), ...text.map(line)].join('\n');
}

/** `n` bytes for people: B, kB, MB (powers of 1000). */
const bytes = (n: number) =>
  n < 1000 ? `${n} B` : n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`;

/** A progress bar: `[#####-----]  50% 1.2 kB / 2.4 kB`. */
function progressBar(sent: number, total: number, width = 30): string {
  const done = total ? Math.round((sent / total) * width) : width;
  const pct = total ? Math.floor((sent / total) * 100) : 100;
  return `[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${String(pct).padStart(3)}% ${bytes(sent)} / ${bytes(total)}`;
}

/** Options of a command line: `--name value` pairs, and the other words in order. */
function parseArgs(args: string[]): { words: string[]; flags: Record<string, string> } {
  const words: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags[a.slice(2)] = v;
    } else words.push(a);
  }
  return { words, flags };
}

const out = (s: string) => process.stdout.write(s);

async function login() {
  const { c, credentials } = client(true);
  if (!credentials) throw new UsageError('datapilot login reads DATAPILOT_EMAIL and DATAPILOT_PASSWORD');
  const s = await c.login(credentials.email, credentials.password);
  out(`signed in as ${s.user.email} in ${s.organization.name} (${s.role}); session kept in ${sessionFile}\n`);
}

async function whoami() {
  const me = await client().c.me();
  out(`${me.user.email} in ${me.organization.name} (${me.role})\n`);
}

async function tables() {
  const list = await client().c.tables();
  out(
    formatTable(
      ['name', 'rows', 'version'],
      list.map((t) => [t.name, t.rowCount, t.version]),
    ) + '\n',
  );
}

async function ask(question: string) {
  const { c } = client();
  try {
    const { events } = await c.ask(question);
    let final;
    let streamed = false;
    for await (const e of events) {
      if (e.kind === 'TEXT_DELTA' && e.textDelta) {
        out(e.textDelta);
        streamed = true;
      }
      final = e.message;
    }
    // A message that was already final answers one snapshot (sequence 0) instead of the stream.
    out(streamed ? '\n' : `${final?.text ?? ''}\n`);
    if (final?.status !== 'COMPLETE')
      throw new DataPilotClientError('INTERNAL', `The analyst could not answer (${final?.errorCode ?? 'no answer'}).`);
    if (final.sql) out(`\nSQL: ${final.sql}\n`);
    if (final.result)
      out(
        `\n${formatTable(
          final.result.columns.map((col) => col.name),
          final.result.rows,
        )}\n`,
      );
  } finally {
    await c.close();
  }
}

async function upload(file: string, flags: Record<string, string>) {
  if (!flags.table) throw new UsageError('upload needs --table NAME');
  const { c } = client();
  const body = readFileSync(file);
  const tty = process.stderr.isTTY;
  let lastPct = -1;
  try {
    const done = await c.upload({
      table: flags.table,
      fileName: path.basename(file),
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      format: flags.format as never,
      mode: flags.mode as never,
      onProgress: (sent, total) => {
        const pct = Math.floor((sent / total) * 100);
        if (tty) process.stderr.write(`\rupload ${progressBar(sent, total)}`);
        else if (pct >= lastPct + 10 || sent === total) out(`upload ${progressBar(sent, total)}\n`);
        lastPct = pct;
      },
    });
    if (tty) process.stderr.write('\n');
    out(`uploaded ${path.basename(file)} (upload ${done.id}, ${done.status})\n`);
    if (!done.run)
      throw new DataPilotClientError(
        'INTERNAL',
        done.error ? `${done.error.code}: ${done.error.message}` : 'No run was started.',
      );
    let shown = '';
    let last;
    for await (const run of c.followRun(done.run.id)) {
      const line = `run ${run.state.padEnd(7)} ${run.tasks.map((t) => `${t.name}=${t.state}`).join(' ')}`.trimEnd();
      if (line !== shown) out(line + '\n');
      shown = line;
      last = run;
    }
    if (last?.state === 'SUCCESS') {
      out(
        `SUCCESS: table ${flags.table} at Delta version ${last.deltaVersion}, ${last.quality?.rowsWritten ?? '?'} rows written\n`,
      );
    } else {
      throw new DataPilotClientError(
        'INTERNAL',
        `The run ended ${last?.state ?? 'without a state'}${last?.error ? `: ${last.error.code}: ${last.error.message}` : ''}.`,
      );
    }
  } finally {
    await c.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const { words, flags } = parseArgs(rest);
    if (command === 'login') await login();
    else if (command === 'whoami') await whoami();
    else if (command === 'tables') await tables();
    else if (command === 'ask' && words.length === 1) await ask(words[0]!);
    else if (command === 'upload' && words.length === 1) await upload(words[0]!, flags);
    else throw new UsageError(command ? `unknown command: ${argv.join(' ')}` : 'no command');
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`datapilot: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    const err = e instanceof DataPilotClientError ? e : null;
    process.stderr.write(`datapilot: ${err ? `${err.code}: ` : ''}${(e as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
