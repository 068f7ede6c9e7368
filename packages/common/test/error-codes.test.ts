// The README documents every error code and WebSocket close code a client can meet ("Errors and tokens"): this test
// reads its tables and fails when ERROR_HTTP_STATUS (errors.ts, the one list) or WS_CLOSE (ws.ts) has a code the
// README does not list, lists another status, or when the README lists a code that no longer exists.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_HTTP_STATUS, WS_CLOSE } from '../src/index.ts';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The rows (cells split on `|`) of the first Markdown table after the heading line `heading`. */
function tableAfter(heading: string): string[][] {
  const lines = README.split('\n');
  const at = lines.indexOf(heading);
  if (at < 0) throw new Error(`README.md has no heading "${heading}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith('#')) break;
    if (line.startsWith('|'))
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    else if (rows.length) break;
  }
  // Header and separator rows first.
  return rows.slice(2);
}

describe('README "Errors and tokens"', () => {
  it('lists every error code of ERROR_HTTP_STATUS with its HTTP status, and no other', () => {
    const documented = Object.fromEntries(
      tableAfter('### Error codes').map(([code, status]) => [code!.replace(/`/g, ''), Number(status)]),
    );
    expect(documented).toEqual({ ...ERROR_HTTP_STATUS });
  });

  it('lists every WebSocket close code of WS_CLOSE, and no other', () => {
    const documented = tableAfter('### WebSocket close codes')
      .map(([code]) => Number(code))
      .sort();
    expect(documented).toEqual(Object.values(WS_CLOSE).sort());
  });
});

describe('ERROR_CODES', () => {
  it('is the codes of the README table, in the order of ERROR_HTTP_STATUS, frozen', () => {
    const documented = tableAfter('### Error codes').map(([code]) => code!.replace(/`/g, ''));
    expect([...ERROR_CODES].sort()).toEqual(documented.sort());
    expect(ERROR_CODES).toEqual(Object.keys(ERROR_HTTP_STATUS));
    expect(Object.isFrozen(ERROR_CODES)).toBe(true);
  });
});
