// End to end: the example CLI (examples/cli, built on @datapilot/sdk) drives the whole stack — the four subgraphs and
// the gateway as processes over the real engines of test/global-setup.ts — with trusted documents ON
// (GATEWAY_TRUSTED_DOCUMENTS = the SDK's manifest), so every request the SDK makes is a trusted document sent by id.
// It uploads a small CSV written here, follows its run to SUCCESS, and asks a question whose answer is computed here by
// hand from that CSV; then an ad-hoc document is refused over HTTP and WebSocket. One stack for the whole file.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type Stack } from '../../scripts/stack.ts';
import { createDatabase, startTestStack } from '../support/stack.ts';
import { collectSubscription, gql } from './client.ts';
import { createDataPilotClient } from '../../sdk/src/index.ts';

const MANIFEST_PATH = path.join(REPO_ROOT, 'sdk', 'persisted-documents.json');
const EMAIL = 'cli-user@example.org';
const PASSWORD = 'cli-user-password-2026';

/** The file the CLI uploads: six penguins, written by hand. */
const CSV = [
  'species,island,body_mass_g',
  'Adelie,Torgersen,3750',
  'Adelie,Biscoe,3800',
  'Gentoo,Biscoe,5000',
  'Gentoo,Biscoe,5400',
  'Gentoo,Dream,4800',
  'Chinstrap,Dream,3500',
].join('\n');
/** Average body_mass_g per species, by hand: (3750 + 3800) / 2, (5000 + 5400 + 4800) / 3, 3500. */
const AVERAGES: Record<string, number> = { Adelie: 3775, Gentoo: 15200 / 3, Chinstrap: 3500 };

let stack: Stack;
let gw: string;
let dir: string;
let csvFile: string;
const envBefore = process.env.GATEWAY_TRUSTED_DOCUMENTS;

/** Runs the `datapilot` command; its exit code, stdout (and the chunks it arrived in) and stderr. */
function datapilot(args: string[], extraEnv: Record<string, string> = {}, timeoutMs = 300_000) {
  return new Promise<{ code: number | null; stdout: string; chunks: string[]; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'examples/cli/bin/datapilot.mjs'), ...args], {
      cwd: dir,
      env: {
        ...process.env,
        DATAPILOT_URL: gw,
        DATAPILOT_SESSION_FILE: path.join(dir, 'session.json'),
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: string[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: chunks.join(''), chunks, stderr });
    });
  });
}

beforeAll(async () => {
  const databaseUrl = await createDatabase('e2e_sdk');
  // The gateway process inherits this: only the SDK manifest's documents run.
  process.env.GATEWAY_TRUSTED_DOCUMENTS = MANIFEST_PATH;
  stack = await startTestStack('e2e-sdk', databaseUrl, {
    demo: { email: 'demo@example.com', password: 'correct-horse-battery-9', orgName: 'Demo Org' },
    loadDemoTables: false,
  });
  gw = `${stack.gatewayUrl}/graphql`;
  dir = mkdtempSync(path.join(tmpdir(), 'datapilot-cli-'));
  csvFile = path.join(dir, 'penguins.csv');
  writeFileSync(csvFile, CSV);
  // A new organization of its own, signed up through the SDK (a trusted document sent in full).
  const sdk = createDataPilotClient({ url: gw });
  const s = await sdk.signup({ email: EMAIL, password: PASSWORD, orgName: 'CLI Org' });
  expect(s.organization.name).toBe('CLI Org');
}, 900_000);

afterAll(async () => {
  await stack?.stop();
  if (envBefore === undefined) delete process.env.GATEWAY_TRUSTED_DOCUMENTS;
  else process.env.GATEWAY_TRUSTED_DOCUMENTS = envBefore;
});

describe('the datapilot CLI over @datapilot/sdk', () => {
  it('logs in with DATAPILOT_EMAIL and DATAPILOT_PASSWORD and keeps the session in a 0600 file', async () => {
    const r = await datapilot(['login'], { DATAPILOT_EMAIL: EMAIL, DATAPILOT_PASSWORD: PASSWORD });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `signed in as ${EMAIL} in CLI Org (OWNER); session kept in ${path.join(dir, 'session.json')}\n`,
    );
    expect(statSync(path.join(dir, 'session.json')).mode & 0o777).toBe(0o600);
    const who = await datapilot(['whoami']);
    expect(who.stdout).toBe(`${EMAIL} in CLI Org (OWNER)\n`);
  });

  it('uploads the CSV with a progress bar and follows its run to SUCCESS', async () => {
    const size = Buffer.byteLength(CSV);
    const r = await datapilot(['upload', csvFile, '--table', 'penguins']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    // The whole file in one 64 KiB piece: one line at 100 %, with the file's size in bytes.
    expect(lines[0]).toBe(`upload [${'#'.repeat(30)}] 100% ${size} B / ${size} B`);
    expect(lines[1]).toMatch(/^uploaded penguins\.csv \(upload [0-9a-f-]{36}, UPLOADED\)$/);
    const runs = lines.slice(2, -1);
    expect(runs.length).toBeGreaterThan(0);
    for (const l of runs)
      expect(l).toMatch(/^run (PENDING|QUEUED|RUNNING|SUCCESS) *( (validate|load|quality|publish)=\w+)*$/);
    expect(runs.at(-1)).toBe('run SUCCESS validate=SUCCESS load=SUCCESS quality=SUCCESS publish=SUCCESS');
    // Six data lines in the file.
    expect(lines.at(-1)).toBe('SUCCESS: table penguins at Delta version 0, 6 rows written');
    const tables = await datapilot(['tables']);
    expect(
      tables.stdout
        .trim()
        .split('\n')
        .at(-1)!
        .split('|')
        .map((c) => c.trim()),
    ).toEqual(['penguins', '6', '0']);
  }, 360_000);

  it('asks a question: prints the answer as it streams, then the result table', async () => {
    const r = await datapilot(['ask', 'Average body mass of penguins per species']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [answer, ...rest] = r.stdout.split('\nSQL: ');
    // The answer text came in pieces (20 ms apart, CHAT_STREAM_DELAY_MS), before the SQL and the table.
    const before = r.chunks.findIndex((c) => c.includes('SQL: '));
    expect(before).toBeGreaterThan(1);
    expect(answer!.trim().length).toBeGreaterThan(0);
    const tail = rest.join('\nSQL: ').split('\n');
    expect(tail[0]).toMatch(/penguins/);
    // The table: header, rule, one line per species.
    const table = tail.slice(2).filter((l) => l.trim());
    expect(table[0]!.split('|').map((c) => c.trim())[0]).toBe('species');
    expect(table[1]).toMatch(/^-+-\+-+$/);
    const got = Object.fromEntries(
      table.slice(2).map((l) => {
        const [species, avg] = l.split('|').map((c) => c.trim());
        return [species!, Number(avg)];
      }),
    );
    expect(Object.keys(got).sort()).toEqual(Object.keys(AVERAGES).sort());
    for (const [species, avg] of Object.entries(AVERAGES)) expect(got[species]).toBeCloseTo(avg, 6);
  }, 120_000);
});

describe('trusted documents on the running stack', () => {
  const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as Record<string, string>;
  /** The id (SHA-256 of the manifest's text, computed here) of the document holding `operation`. */
  const idOf = (operation: string) =>
    createHash('sha256')
      .update(Object.values(manifest).find((t) => t.includes(operation))!)
      .digest('hex');
  let token: string;

  beforeAll(async () => {
    const sdk = createDataPilotClient({ url: gw, documentMode: 'id' });
    token = (await sdk.login(EMAIL, PASSWORD)).accessToken;
  });

  it('runs an SDK document by id and in full, and refuses an ad-hoc query with PERSISTED_QUERY_NOT_FOUND', async () => {
    const post = async (body: Record<string, unknown>) => {
      const res = await fetch(gw, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      return { status: res.status, ...((await res.json()) as { data?: any; errors?: any[] }) };
    };
    const byId = await post({ documentId: idOf('query LakeTables {') });
    expect(byId.status).toBe(200);
    expect(byId.data.lakeTables.map((t: any) => [t.name, t.rowCount])).toEqual([['penguins', 6]]);
    const inFull = await post({
      query: `query LakeTables { lakeTables { version rowCount name columns { type nullable name } } }`,
    });
    expect(inFull.data.lakeTables.map((t: any) => [t.name, t.version])).toEqual([['penguins', 0]]);
    const adHoc = await gql(gw, `{ lakeTables { name rowCount } }`, {}, token);
    expect([adHoc.status, adHoc.data, adHoc.errors?.map((e) => e.extensions?.code)]).toEqual([
      400,
      undefined,
      ['PERSISTED_QUERY_NOT_FOUND'],
    ]);
  });

  it('refuses an ad-hoc subscription over WebSocket with PERSISTED_QUERY_NOT_FOUND', async () => {
    const sub = await collectSubscription(
      gw.replace('http', 'ws'),
      `subscription($id: ID!) { pipelineRunEvents(runId: $id) { sequence } }`,
      { id: randomUUID() },
      { authorization: `Bearer ${token}` },
      30_000,
    );
    expect(sub.events).toEqual([]);
    expect((sub.errors[0] as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)).toEqual([
      'PERSISTED_QUERY_NOT_FOUND',
    ]);
  });
});
