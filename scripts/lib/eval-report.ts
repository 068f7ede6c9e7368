/**
 * How the evaluation is shown in a terminal: one line per question, a table of outcomes per set and overall, and the
 * questions that were not correct with why. Plain text, no colours (the output is often kept in logs).
 */
import type { Counts, EvalReport, QuestionReport } from './eval-run.ts';

/** The answer's text on one line (whitespace runs collapsed), cut to `max` characters with an ellipsis. */
export function oneLine(text: string | null, max = 100): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A question's progress line: id, outcome, seconds taken, the answer's first 100 characters. */
export function questionLine(q: QuestionReport): string {
  const answer = q.outcome === 'error' && !q.text ? `(${q.reason})` : oneLine(q.text);
  return `${q.id.padEnd(10)} ${q.outcome.padEnd(9)} ${(q.ms / 1000).toFixed(1).padStart(5)}s  ${answer}`;
}

/** `n` of `of` as a whole percentage ("59%"); "-" when `of` is 0. */
const pct = (n: number, of: number) => (of ? `${Math.round((100 * n) / of)}%` : '-');

/**
 * The outcome table: a row per set and a total row (questions, correct, abstained, wrong, error, and the correct and
 * abstained shares).
 */
export function countsTable(report: Pick<EvalReport, 'sets' | 'total'>): string {
  const head = ['set', 'questions', 'correct', 'abstained', 'wrong', 'error', 'correct%', 'abstained%'];
  const row = (name: string, c: Counts) => [
    name,
    String(c.questions),
    String(c.correct),
    String(c.abstained),
    String(c.wrong),
    String(c.error),
    pct(c.correct, c.questions),
    pct(c.abstained, c.questions),
  ];
  const rows = [head, ...report.sets.map((s) => row(s.name, s.counts)), row('total', report.total)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [fmt(rows[0]!), rule, ...rows.slice(1, -1).map(fmt), rule, fmt(rows[rows.length - 1]!)].join('\n');
}

/** The questions that were wrong or errored, each with its reason; then the ids that abstained. Empty when none. */
export function notCorrect(questions: readonly QuestionReport[]): string {
  const lines: string[] = [];
  for (const q of questions.filter((x) => x.outcome === 'wrong' || x.outcome === 'error'))
    lines.push(`${q.outcome.toUpperCase()} ${q.set}/${q.id} "${oneLine(q.question, 80)}": ${q.reason}`);
  const abstained = questions.filter((q) => q.outcome === 'abstained');
  if (abstained.length) lines.push(`abstained: ${abstained.map((q) => q.id).join(', ')}`);
  return lines.join('\n');
}
