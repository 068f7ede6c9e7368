// The evaluation's checking rules (scripts/lib/eval-check.ts) on hand-made result tables, one group per rule of
// ../shared/eval/README.md, with the edge cases; and the set files' parsing and conversations (eval-set.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  cellEqualsLabel,
  checkAnswer,
  isNumericCell,
  parseExpectation,
  withinTolerance,
  type Cell,
  type ResultTable,
} from '../scripts/lib/eval-check.ts';
import { conversationsOf, evalDir, loadSet, parseSet, resolveSetFiles } from '../scripts/lib/eval-set.ts';
import { tally } from '../scripts/lib/eval-run.ts';

/** A result table with columns c0, c1, ... and the given rows. */
const table = (...rows: Cell[][]): ResultTable => ({
  columns: (rows[0] ?? []).map((_, i) => ({ name: `c${i}`, type: 'string' })),
  rows,
});

describe('cells', () => {
  it('a numeric cell is a finite JSON number only', () => {
    expect(isNumericCell(144)).toBe(true);
    expect(isNumericCell(-0.5)).toBe(true);
    expect(isNumericCell('144')).toBe(false);
    expect(isNumericCell(null)).toBe(false);
    expect(isNumericCell(true)).toBe(false);
    expect(isNumericCell(Number.NaN)).toBe(false);
    expect(isNumericCell([144])).toBe(false);
  });

  it('tolerance is absolute and inclusive; 0 is exact up to binary rounding', () => {
    expect(withinTolerance(16.9959, 16.9959, 0)).toBe(true);
    expect(withinTolerance(17.005, 16.9959, 0.01)).toBe(true); // |diff| = 0.0091
    expect(withinTolerance(17.0069, 16.9959, 0.01)).toBe(false); // |diff| = 0.011
    expect(withinTolerance(145, 144, 0)).toBe(false);
    expect(withinTolerance(144.0000001, 144, 0)).toBe(false);
    expect(withinTolerance(0.1 + 0.2, 0.3, 0)).toBe(true); // 0.30000000000000004
    expect(withinTolerance(603320147, 603320147, 0)).toBe(true);
    expect(withinTolerance(603320148, 603320147, 0)).toBe(false);
    expect(withinTolerance('144', 144, 0)).toBe(false);
  });

  it('a label matches a whole string cell ignoring case, or a number whose decimal text it is', () => {
    expect(cellEqualsLabel('dfw', 'DFW')).toBe(true);
    expect(cellEqualsLabel('Pontiac Grand Prix', 'pontiac grand prix')).toBe(true);
    expect(cellEqualsLabel('DFW ', 'DFW')).toBe(false);
    expect(cellEqualsLabel('Chicago Midway', 'Chicago')).toBe(false);
    expect(cellEqualsLabel(2015, '2015')).toBe(true);
    expect(cellEqualsLabel(null, 'null')).toBe(false);
    expect(cellEqualsLabel(true, 'true')).toBe(false);
  });
});

describe('number', () => {
  const e = { kind: 'number', value: 144, tol: 0 } as const;
  it('correct when some numeric cell of any row or column is within tol', () => {
    expect(checkAnswer(e, table([144]))).toEqual({ outcome: 'correct', reason: null });
    expect(checkAnswer(e, table(['rain', 12], ['snow', 144])).outcome).toBe('correct');
    expect(checkAnswer({ kind: 'number', value: 16.9959, tol: 0.01 }, table([17.0])).outcome).toBe('correct');
  });
  it('a number written as a string does not count', () => {
    const v = checkAnswer(e, table(['144']));
    expect(v.outcome).toBe('abstained');
    expect(v.reason).toContain('no number');
  });
  it('another number is wrong; no result, no rows or only text is an abstention', () => {
    expect(checkAnswer(e, table([143])).outcome).toBe('wrong');
    expect(checkAnswer(e, table(['2015', 143])).outcome).toBe('wrong');
    expect(checkAnswer(e, null).outcome).toBe('abstained');
    expect(checkAnswer(e, { columns: [{ name: 'n' }], rows: [] }).outcome).toBe('abstained');
    expect(checkAnswer(e, table([null])).outcome).toBe('abstained');
  });
  it('tol defaults to 0', () => {
    expect(checkAnswer({ kind: 'number', value: 5 }, table([5])).outcome).toBe('correct');
    expect(checkAnswer({ kind: 'number', value: 5 }, table([5.01])).outcome).toBe('wrong');
  });
});

describe('pairs', () => {
  const e = {
    kind: 'pairs',
    pairs: [
      ['Adelie', 152],
      ['Gentoo', 124],
      ['Chinstrap', 68],
    ],
    tol: 0,
  } as const;
  it('correct when each pair is in some row, in any order and column, with extra rows', () => {
    expect(checkAnswer(e, table(['Gentoo', 124], ['Chinstrap', 68], ['Adelie', 152])).outcome).toBe('correct');
    expect(checkAnswer(e, table([124, 'gentoo'], [68, 'CHINSTRAP'], [152, 'adelie'], [2, null])).outcome).toBe(
      'correct',
    );
  });
  it('label and value must be in the same row', () => {
    const v = checkAnswer(e, table(['Adelie', 124], ['Gentoo', 152], ['Chinstrap', 68]));
    expect(v.outcome).toBe('wrong');
    expect(v.reason).toContain('[Adelie, 152]');
    expect(v.reason).toContain('[Gentoo, 124]');
    expect(v.reason).not.toContain('Chinstrap');
  });
  it('a missing pair is wrong; a value as a string does not count', () => {
    expect(checkAnswer(e, table(['Adelie', 152], ['Gentoo', 124])).outcome).toBe('wrong');
    expect(checkAnswer(e, table(['Adelie', '152'], ['Gentoo', 124], ['Chinstrap', 68])).outcome).toBe('wrong');
  });
  it('tolerance per value', () => {
    const avg = { kind: 'pairs', pairs: [['USA', 119.9]], tol: 0.01 } as const;
    expect(checkAnswer(avg, table(['USA', 119.905])).outcome).toBe('correct');
    expect(checkAnswer(avg, table(['USA', 119.92])).outcome).toBe('wrong');
  });
  it('labels without numbers abstain; other labels without numbers are wrong', () => {
    expect(checkAnswer(e, table(['Adelie'], ['Gentoo'], ['Chinstrap'])).outcome).toBe('abstained');
    expect(checkAnswer(e, table(['Emperor'])).outcome).toBe('wrong');
    expect(checkAnswer(e, null).outcome).toBe('abstained');
  });
});

describe('top', () => {
  const e = { kind: 'top', label: 'DFW', value: 1103, tol: 0 } as const;
  it('correct when the first row has the label and the value', () => {
    expect(checkAnswer(e, table(['DFW', 1103], ['ORD', 1000])).outcome).toBe('correct');
    expect(checkAnswer(e, table([1103, 'dfw'])).outcome).toBe('correct');
  });
  it('checks the first row only', () => {
    const v = checkAnswer(e, table(['ORD', 1103], ['DFW', 1103]));
    expect(v.outcome).toBe('wrong');
    expect(v.reason).toContain('no cell "DFW"');
    expect(checkAnswer(e, table(['DFW', 1000], ['DFW', 1103])).outcome).toBe('wrong');
  });
  it('the value without the label (the car without its name) is wrong', () => {
    expect(checkAnswer({ kind: 'top', label: 'pontiac grand prix', value: 230 }, table([230])).outcome).toBe('wrong');
  });
  it('without a value, the label alone decides', () => {
    const l = { kind: 'top', label: '2015-03-15' } as const;
    expect(checkAnswer(l, table(['2015-03-15'])).outcome).toBe('correct');
    expect(checkAnswer(l, table(['2015-03-15T00:00:00Z'])).outcome).toBe('wrong');
    expect(checkAnswer(l, table(['2014-01-01'])).outcome).toBe('wrong');
  });
  it('the right label without a number abstains; another label without a number is wrong', () => {
    expect(checkAnswer(e, table(['DFW'])).outcome).toBe('abstained');
    expect(checkAnswer(e, table(['ORD'])).outcome).toBe('wrong');
    expect(checkAnswer(e, null).outcome).toBe('abstained');
    expect(checkAnswer(e, { columns: [], rows: [] }).outcome).toBe('abstained');
  });
  it('a numeric label (a year) matches a numeric cell', () => {
    expect(checkAnswer({ kind: 'top', label: '2012', value: 1226, tol: 0.05 }, table([2012, 1226.02])).outcome).toBe(
      'correct',
    );
  });
});

describe('topnum', () => {
  const e = { kind: 'topnum', value: 26.1121, tol: 0.01 } as const;
  it('correct when the first row has the value, whatever its label', () => {
    expect(checkAnswer(e, table(['August', 26.1121], ['July', 25.9])).outcome).toBe('correct');
    expect(checkAnswer(e, table([8, 26.11])).outcome).toBe('correct');
  });
  it('the value in a later row only is wrong; as a string it does not count', () => {
    expect(checkAnswer(e, table(['July', 25.9], ['August', 26.1121])).outcome).toBe('wrong');
    expect(checkAnswer(e, table(['August', '26.1121'])).outcome).toBe('abstained');
  });
});

describe('abstain', () => {
  const e = { kind: 'abstain' } as const;
  it('correct when no cell is a number: no result, no rows, text only, numbers as strings, nulls', () => {
    expect(checkAnswer(e, null).outcome).toBe('correct');
    expect(checkAnswer(e, undefined).outcome).toBe('correct');
    expect(checkAnswer(e, { columns: [{ name: 'x' }], rows: [] }).outcome).toBe('correct');
    expect(checkAnswer(e, table(['sun'], ['rain'])).outcome).toBe('correct');
    expect(checkAnswer(e, table(['42', null, false])).outcome).toBe('correct');
  });
  it('any numeric cell, even 0, is wrong', () => {
    const v = checkAnswer(e, table(['AA', 0]));
    expect(v.outcome).toBe('wrong');
    expect(v.reason).toContain('[0]');
  });
});

describe('parseExpectation', () => {
  it('reads each kind of the README', () => {
    expect(parseExpectation({ kind: 'number', value: 144, tol: 0 })).toEqual({ kind: 'number', value: 144, tol: 0 });
    expect(parseExpectation({ kind: 'top', label: 'sun', value: 19.8619, tol: 0.01 })).toEqual({
      kind: 'top',
      label: 'sun',
      value: 19.8619,
      tol: 0.01,
    });
    expect(parseExpectation({ kind: 'pairs', pairs: [['AK', 263]], tol: 0 })).toEqual({
      kind: 'pairs',
      pairs: [['AK', 263]],
      tol: 0,
    });
    expect(parseExpectation({ kind: 'abstain' })).toEqual({ kind: 'abstain' });
  });
  it('refuses what the rules cannot check, naming the field', () => {
    expect(() => parseExpectation({ kind: 'median', value: 1 })).toThrow(/expect.kind/);
    expect(() => parseExpectation({ kind: 'number', value: '144' })).toThrow(/expect.value/);
    expect(() => parseExpectation({ kind: 'number', value: 1, tol: -1 })).toThrow(/expect.tol/);
    expect(() => parseExpectation({ kind: 'pairs', pairs: [] })).toThrow(/expect.pairs/);
    expect(() => parseExpectation({ kind: 'pairs', pairs: [['AK']] })).toThrow(/pairs\[0\]/);
    expect(() => parseExpectation({ kind: 'top', label: '' })).toThrow(/expect.label/);
    expect(() => parseExpectation(null)).toThrow(/object/);
  });
});

describe('sets', () => {
  const line = (o: Record<string, unknown>) => JSON.stringify(o);
  const n = { kind: 'number', value: 1 };
  it('follow-ups are asked in the conversation of the question they name, right after it', () => {
    const set = parseSet(
      'x.jsonl',
      [
        line({ id: 'a', question: 'Total in 2012?', expect: n }),
        line({ id: 'b', question: 'Count?', expect: n }),
        line({ id: 'a2', followup_of: 'a', question: 'And in 2015?', expect: n }),
        '',
        line({ id: 'a3', followup_of: 'a2', question: 'And in 2016?', expect: n }),
        line({ id: 'c', question: 'Tomorrow?', expect: { kind: 'abstain' } }),
      ].join('\n'),
    );
    expect(set.name).toBe('x');
    expect(conversationsOf(set).map((c) => c.map((q) => q.id))).toEqual([['a', 'a2', 'a3'], ['b'], ['c']]);
  });
  it('refuses a bad line, naming the file and line', () => {
    expect(() => parseSet('x.jsonl', 'not json')).toThrow(/x\.jsonl:1: not JSON/);
    expect(() =>
      parseSet(
        'x.jsonl',
        `${line({ id: 'a', question: 'q', expect: n })}\n${line({ id: 'a', question: 'q', expect: n })}`,
      ),
    ).toThrow(/x\.jsonl:2: id a appears twice/);
    expect(() => parseSet('x.jsonl', line({ id: 'a', question: '', expect: n }))).toThrow(/question/);
    expect(() => parseSet('x.jsonl', line({ id: 'a', question: 'q', expect: { kind: 'nope' } }))).toThrow(
      /x\.jsonl:1:/,
    );
    expect(() => parseSet('x.jsonl', line({ id: 'b', followup_of: 'zz', question: 'q', expect: n }))).toThrow(
      /b is a follow-up of zz, which is not in the set/,
    );
    expect(() =>
      parseSet(
        'x.jsonl',
        [
          line({ id: 'a', followup_of: 'b', question: 'q', expect: n }),
          line({ id: 'b', followup_of: 'a', question: 'q', expect: n }),
        ].join('\n'),
      ),
    ).toThrow(/cycle/);
  });
  it('resolves files and globs from the caller, then from the eval folder; default every *.jsonl', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eval-sets-'));
    for (const f of ['questions.dev.jsonl', 'questions.dev2.jsonl', 'README.md']) writeFileSync(path.join(dir, f), '');
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'eval-cwd-'));
    const names = (fs: string[]) => fs.map((f) => path.basename(f));
    expect(names(resolveSetFiles([], dir, elsewhere))).toEqual(['questions.dev.jsonl', 'questions.dev2.jsonl']);
    expect(names(resolveSetFiles(['questions.dev2.jsonl'], dir, elsewhere))).toEqual(['questions.dev2.jsonl']);
    expect(names(resolveSetFiles(['*dev2*', path.join(dir, 'questions.dev2.jsonl')], dir, elsewhere))).toEqual([
      'questions.dev2.jsonl',
    ]);
    expect(names(resolveSetFiles([path.join(dir, 'q*.jsonl')], null, elsewhere))).toEqual([
      'questions.dev.jsonl',
      'questions.dev2.jsonl',
    ]);
    expect(() => resolveSetFiles(['nope.jsonl'], dir, elsewhere)).toThrow(/--set nope.jsonl: no such file/);
    expect(() => resolveSetFiles([], elsewhere, elsewhere)).toThrow(/no \*\.jsonl/);
    expect(() => resolveSetFiles([], null, elsewhere)).toThrow(/DATAPILOT_EVAL_DIR/);
    expect(evalDir('/nowhere', { DATAPILOT_EVAL_DIR: dir })).toBe(dir);
  });
  it('tally counts each outcome', () => {
    expect(
      tally([{ outcome: 'correct' }, { outcome: 'abstained' }, { outcome: 'correct' }, { outcome: 'error' }]),
    ).toEqual({ questions: 4, correct: 2, abstained: 1, wrong: 0, error: 1 });
  });
});

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

describe.skipIf(!evalDir(REPO_ROOT))('the eval folder', () => {
  it('every set in it parses, with conversations covering each question once', () => {
    const dir = evalDir(REPO_ROOT)!;
    const files = resolveSetFiles([], dir, dir);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const set = loadSet(f);
      expect(set.questions.length).toBeGreaterThan(0);
      const asked = conversationsOf(set)
        .flat()
        .map((q) => q.id);
      expect([...asked].sort()).toEqual(set.questions.map((q) => q.id).sort());
    }
  });
});
