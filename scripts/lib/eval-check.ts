/**
 * The checking rules of the analyst's evaluation, in one place: how the final assistant message's result table
 * (`Message.result { columns rows }`) is judged against a question's `expect`. The rules are those of the eval set's
 * README (`../shared/eval/README.md`, "How an answer is checked"); this module is their only implementation
 * (scripts/eval.ts and test/e2e/eval.test.ts use it, test/eval-check.test.ts tests it).
 */

/** One cell of a result row as the API sends it (JSON): numbers, strings, booleans, null, arrays, objects. */
export type Cell = unknown;

/** A result table: `columns` (names, types) and `rows` (cells in `columns` order); null when the answer has none. */
export type ResultTable = { columns: readonly { name: string; type?: string }[]; rows: readonly (readonly Cell[])[] };

/**
 * What a question expects (README): the `kind` and its parameters. `tol` is an absolute tolerance (0: exact); it
 * defaults to 0 when absent.
 * - `number`: some numeric cell within `tol` of `value`.
 * - `pairs`: for each `[label, value]`, some row has a cell equal to `label` and a numeric cell within `tol` of
 *   `value`.
 * - `top`: the first row has a cell equal to `label` and, when `value` is given, a numeric cell within `tol` of it.
 * - `topnum`: the first row has a numeric cell within `tol` of `value`.
 * - `abstain`: no cell of the result is a number.
 */
export type Expectation =
  | { kind: 'number'; value: number; tol?: number }
  | { kind: 'pairs'; pairs: readonly (readonly [string, number])[]; tol?: number }
  | { kind: 'top'; label: string; value?: number; tol?: number }
  | { kind: 'topnum'; value: number; tol?: number }
  | { kind: 'abstain' };

/**
 * How one answer is counted:
 * - `correct`: the check passes;
 * - `abstained`: it does not, and the answer holds no number (no result, or no numeric cell), and, for `top`/`pairs`,
 *   names nothing else instead (an honest "I can't answer that");
 * - `wrong`: it does not, and the answer gives a number, or names a label other than the expected one;
 * - `error`: no final answer (FAILED message, timeout, transport failure) — decided by the runner, never here.
 */
export type Outcome = 'correct' | 'abstained' | 'wrong' | 'error';

/** The verdict of {@link checkAnswer}: the outcome and, when not correct, why, in words. */
export type Verdict = { outcome: Exclude<Outcome, 'error'>; reason: string | null };

/**
 * True for a numeric cell: a finite JSON number. A number written as a string (`"144"`), a boolean or null is not
 * one (README: "numeric cell").
 */
export function isNumericCell(cell: Cell): cell is number {
  return typeof cell === 'number' && Number.isFinite(cell);
}

/**
 * True when `cell` is within `tol` of `value`: |cell − value| ≤ tol, plus a few units of the last place of the
 * larger of the two (so that a decimal written in binary, e.g. 0.1 + 0.2, is still "exact" at tol 0).
 */
export function withinTolerance(cell: Cell, value: number, tol = 0): boolean {
  if (!isNumericCell(cell)) return false;
  const slack = 4 * Number.EPSILON * Math.max(Math.abs(cell), Math.abs(value));
  return Math.abs(cell - value) <= tol + slack;
}

/**
 * True when `cell` equals `label`, ignoring case (README: "a cell equal to `label` (case-insensitive)"): a string
 * cell compared as a whole (no trimming, no partial match); a numeric cell whose decimal text is the label (a year
 * 2015 for the label "2015"). Anything else (null, booleans, arrays) never equals a label.
 */
export function cellEqualsLabel(cell: Cell, label: string): boolean {
  if (typeof cell === 'string') return cell.toLowerCase() === label.toLowerCase();
  if (isNumericCell(cell)) return String(cell) === label;
  return false;
}

/**
 * Checks `result` (the final message's result table, null when it has none) against `expect` by the README's rules;
 * see {@link Outcome} for how a failed check is counted. Rows are read as given; the first row is `rows[0]`.
 * @returns the verdict, with a one-line reason when it is not correct.
 */
export function checkAnswer(expect: Expectation, result: ResultTable | null | undefined): Verdict {
  const rows = result?.rows ?? [];
  const cells = rows.flat();
  const numbers = cells.filter(isNumericCell);
  const noNumber = numbers.length === 0;
  const first = rows[0] ?? [];
  const pass: Verdict = { outcome: 'correct', reason: null };
  /** Not correct: abstained when the answer holds no number (and names nothing else), wrong otherwise. */
  const fail = (reason: string, namesOther = false): Verdict => ({
    outcome: noNumber && !namesOther ? 'abstained' : 'wrong',
    reason: noNumber && !namesOther ? `no number in the answer (${reason})` : reason,
  });
  const shown = (xs: readonly Cell[]) => JSON.stringify(xs).slice(0, 120);

  switch (expect.kind) {
    case 'abstain':
      return noNumber
        ? pass
        : { outcome: 'wrong', reason: `expected an abstention; the answer gives numbers ${shown(numbers)}` };
    case 'number':
      return numbers.some((n) => withinTolerance(n, expect.value, expect.tol))
        ? pass
        : fail(`no numeric cell within ${expect.tol ?? 0} of ${expect.value}; numbers: ${shown(numbers)}`);
    case 'topnum':
      return first.some((c) => withinTolerance(c, expect.value, expect.tol))
        ? pass
        : fail(`first row ${shown(first)} has no numeric cell within ${expect.tol ?? 0} of ${expect.value}`);
    case 'top': {
      const labelled = first.some((c) => cellEqualsLabel(c, expect.label));
      const valued = expect.value === undefined || first.some((c) => withinTolerance(c, expect.value!, expect.tol));
      if (labelled && valued) return pass;
      // A first row that names something (a string cell) other than the label is another answer, not an abstention.
      const namesOther = !labelled && first.some((c) => typeof c === 'string');
      const missing = [
        labelled ? null : `no cell "${expect.label}"`,
        valued ? null : `no numeric cell within ${expect.tol ?? 0} of ${expect.value}`,
      ].filter(Boolean);
      return fail(`first row ${shown(first)}: ${missing.join(', ')}`, namesOther);
    }
    case 'pairs': {
      const missing = expect.pairs.filter(
        ([label, value]) =>
          !rows.some(
            (r) => r.some((c) => cellEqualsLabel(c, label)) && r.some((c) => withinTolerance(c, value, expect.tol)),
          ),
      );
      if (!missing.length) return pass;
      // Rows that name other labels (and no expected pair) are another answer, not an abstention.
      const namesOther =
        !expect.pairs.some(([label]) => cells.some((c) => cellEqualsLabel(c, label))) &&
        cells.some((c) => typeof c === 'string');
      return fail(
        `missing ${missing.map(([l, v]) => `[${l}, ${v}]`).join(', ')} (tol ${expect.tol ?? 0}) in ${rows.length} rows`,
        namesOther,
      );
    }
  }
}

/**
 * Validates one parsed `expect` object of a question line (README's kinds and fields).
 * @returns the expectation, typed.
 * @throws Error naming what is wrong (an unknown kind, a missing or non-numeric value, a negative tolerance, ...).
 */
export function parseExpectation(raw: unknown): Expectation {
  if (typeof raw !== 'object' || raw === null) throw new Error('`expect` must be an object');
  const e = raw as Record<string, unknown>;
  const num = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`\`expect.${what}\` must be a finite number`);
    return v;
  };
  const tol = e.tol === undefined ? undefined : num(e.tol, 'tol');
  if (tol !== undefined && tol < 0) throw new Error('`expect.tol` must be 0 or more');
  const label = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || !v) throw new Error(`\`expect.${what}\` must be a non-empty string`);
    return v;
  };
  switch (e.kind) {
    case 'number':
      return { kind: 'number', value: num(e.value, 'value'), tol };
    case 'topnum':
      return { kind: 'topnum', value: num(e.value, 'value'), tol };
    case 'top':
      return {
        kind: 'top',
        label: label(e.label, 'label'),
        value: e.value === undefined || e.value === null ? undefined : num(e.value, 'value'),
        tol,
      };
    case 'pairs': {
      if (!Array.isArray(e.pairs) || !e.pairs.length) throw new Error('`expect.pairs` must be a non-empty array');
      const pairs = e.pairs.map((p, i) => {
        if (!Array.isArray(p) || p.length !== 2) throw new Error(`\`expect.pairs[${i}]\` must be [label, value]`);
        return [label(p[0], `pairs[${i}][0]`), num(p[1], `pairs[${i}][1]`)] as const;
      });
      return { kind: 'pairs', pairs, tol };
    }
    case 'abstain':
      return { kind: 'abstain' };
    default:
      throw new Error(`\`expect.kind\` ${JSON.stringify(e.kind)} is not one of number, pairs, top, topnum, abstain`);
  }
}
