/**
 * The analyst's evaluation sets: where they are (the eval folder), which files a `--set` names, and their questions
 * (one JSON object a line: `id`, `question`, `expect`, optional `followup_of`), grouped into the conversations they
 * are asked in.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseExpectation, type Expectation } from './eval-check.ts';

/** One question of a set. `followupOf` names the question (same set) whose conversation it continues. */
export type EvalQuestion = { id: string; question: string; expect: Expectation; followupOf: string | null };

/** A set: its file, its name (the file name without `.jsonl`) and its questions in file order. */
export type EvalSet = { file: string; name: string; questions: EvalQuestion[] };

/** Longest question text accepted (the chat subgraph bounds a message's text too). */
export const MAX_QUESTION_CHARS = 4_000;
/** Most questions one set may hold (a guard against pointing `--set` at the wrong file). */
export const MAX_QUESTIONS_PER_SET = 5_000;

/**
 * The eval folder: `DATAPILOT_EVAL_DIR` when set, else `../shared/eval` beside the repository, else `/work/shared/eval`.
 * @returns the first that exists as a folder (DATAPILOT_EVAL_DIR is returned even when missing: the caller says so),
 *   or null when none does.
 */
export function evalDir(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.DATAPILOT_EVAL_DIR) return path.resolve(env.DATAPILOT_EVAL_DIR);
  for (const dir of [path.resolve(repoRoot, '..', 'shared', 'eval'), '/work/shared/eval'])
    if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
  return null;
}

/** `*` (any characters but `/`) and `?` (one) of a file-name pattern, as a RegExp of the whole name. */
function nameGlob(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/**
 * The set files that `specs` name, sorted and without repeats. A spec is a file or a glob whose wildcards (`*`, `?`)
 * are in its last part (`questions.dev*.jsonl`, `/data/eval/*.jsonl`); a relative spec is read from `cwd`, and when
 * nothing matches there, from `dir` (the eval folder). No spec: every `*.jsonl` of `dir`.
 * @throws Error when a spec matches no file, or when no spec is given and `dir` is null or holds no `*.jsonl`.
 */
export function resolveSetFiles(specs: readonly string[], dir: string | null, cwd: string): string[] {
  const matches = (spec: string, base: string): string[] => {
    const full = path.resolve(base, spec);
    const name = path.basename(full);
    if (!/[*?]/.test(name)) return existsSync(full) && statSync(full).isFile() ? [full] : [];
    const folder = path.dirname(full);
    if (/[*?]/.test(folder)) throw new Error(`--set ${spec}: wildcards are only allowed in the file name`);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) return [];
    const re = nameGlob(name);
    return readdirSync(folder)
      .filter((f) => re.test(f))
      .map((f) => path.join(folder, f))
      .filter((f) => statSync(f).isFile());
  };
  const files = new Set<string>();
  if (!specs.length) {
    if (!dir) throw new Error('no eval folder: set DATAPILOT_EVAL_DIR or put the sets in ../shared/eval');
    const found = matches('*.jsonl', dir);
    if (!found.length) throw new Error(`no *.jsonl question set in ${dir}`);
    found.forEach((f) => files.add(f));
  }
  for (const spec of specs) {
    let found = matches(spec, cwd);
    if (!found.length && dir && !path.isAbsolute(spec)) found = matches(spec, dir);
    if (!found.length) throw new Error(`--set ${spec}: no such file${dir ? ` (looked in ${cwd} and ${dir})` : ''}`);
    found.forEach((f) => files.add(f));
  }
  return [...files].sort();
}

/**
 * Parses a set file's text: one JSON object a line (blank lines skipped), each with a unique non-empty `id`, a
 * `question` (1..{@link MAX_QUESTION_CHARS} characters), an `expect` (see eval-check.ts `parseExpectation`) and an
 * optional `followup_of` naming another question of the same set; follow-ups must not form a cycle.
 * @throws Error naming the file, the line and what is wrong.
 */
export function parseSet(file: string, text: string): EvalSet {
  const questions: EvalQuestion[] = [];
  const ids = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${where}: not JSON (${(e as Error).message})`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: not a JSON object`);
    const { id, question, followup_of: followupOf } = raw;
    if (typeof id !== 'string' || !id) throw new Error(`${where}: \`id\` must be a non-empty string`);
    if (ids.has(id)) throw new Error(`${where}: id ${id} appears twice`);
    if (typeof question !== 'string' || !question.trim() || question.length > MAX_QUESTION_CHARS)
      throw new Error(`${where}: \`question\` must be a string of 1..${MAX_QUESTION_CHARS} characters`);
    if (followupOf !== undefined && followupOf !== null && (typeof followupOf !== 'string' || !followupOf))
      throw new Error(`${where}: \`followup_of\` must name a question id`);
    let expect: Expectation;
    try {
      expect = parseExpectation(raw.expect);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    ids.add(id);
    questions.push({ id, question, expect, followupOf: (followupOf as string | undefined) ?? null });
    if (questions.length > MAX_QUESTIONS_PER_SET)
      throw new Error(`${file}: more than ${MAX_QUESTIONS_PER_SET} questions`);
  });
  for (const q of questions) {
    const seen = new Set<string>([q.id]);
    for (let p = q.followupOf; p !== null; p = questions.find((x) => x.id === p)!.followupOf) {
      if (!ids.has(p)) throw new Error(`${file}: ${q.id} is a follow-up of ${p}, which is not in the set`);
      if (seen.has(p)) throw new Error(`${file}: the follow-ups of ${q.id} form a cycle`);
      seen.add(p);
    }
  }
  return { file, name: path.basename(file).replace(/\.jsonl$/, ''), questions };
}

/** Reads and parses a set file ({@link parseSet}). @throws Error as parseSet, or when the file cannot be read. */
export function loadSet(file: string): EvalSet {
  return parseSet(file, readFileSync(file, 'utf8'));
}

/**
 * The conversations a set is asked in, in file order of their first question: each question without `followup_of`
 * starts one, and each follow-up is asked in the conversation of the question it names, right after it (after that
 * question's earlier follow-ups, in file order).
 */
export function conversationsOf(set: EvalSet): EvalQuestion[][] {
  const children = new Map<string, EvalQuestion[]>();
  for (const q of set.questions)
    if (q.followupOf) children.set(q.followupOf, [...(children.get(q.followupOf) ?? []), q]);
  const chain = (q: EvalQuestion): EvalQuestion[] => [q, ...(children.get(q.id) ?? []).flatMap(chain)];
  return set.questions.filter((q) => !q.followupOf).map(chain);
}
