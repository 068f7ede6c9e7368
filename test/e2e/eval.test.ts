// End to end: the analyst's evaluation (`npm run eval`'s runner, scripts/lib/eval-run.ts) against a whole stack on the
// run's engines, the demo organization loaded through the real pipeline. Every question of the eval folder's sets
// (../shared/eval/*.jsonl) is asked through the gateway; the expected values are the sets' own, computed by their
// authors from the vega-datasets source files, independently of DataPilot. Skipped when there is no eval folder.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type Stack } from '../../scripts/stack.ts';
import { evalDir, loadSet, resolveSetFiles, type EvalSet } from '../../scripts/lib/eval-set.ts';
import { runEval, type EvalReport } from '../../scripts/lib/eval-run.ts';
import { countsTable, notCorrect } from '../../scripts/lib/eval-report.ts';
import { createDatabase, dropDatabase, startTestStack } from '../support/stack.ts';
import { gql } from './client.ts';

/**
 * Whether every answer must be correct (the target), or only none wrong or errored (abstentions allowed).
 * The lead flips this once the analyst answers every development question.
 */
const REQUIRE_ALL_CORRECT = true;

const DIR = evalDir(REPO_ROOT);
const SETS: EvalSet[] = DIR ? resolveSetFiles([], DIR, DIR).map(loadSet) : [];
const QUESTIONS = SETS.reduce((n, s) => n + s.questions.length, 0);
/**
 * The runner's bound per answer (`npm run eval` uses 60 s) and concurrency; the test's bound follows from them (an
 * answer, and as long again to be admitted). Twice the CLI's bound: the first answers read cold Delta tables through
 * a Spark that shares 2 cores with the rest of the test run (up to 60 s measured for the first question).
 */
const QUESTION_MS = 120_000;
const CONCURRENCY = 2;
const RUN_MS = Math.ceil(QUESTIONS / CONCURRENCY) * 2 * QUESTION_MS + 60_000;

const DEMO = { email: 'demo@example.com', password: 'correct-horse-battery-9', orgName: 'Demo Org' };
const OTHER = { email: 'eve@other.example', password: 'another-long-pass-42', orgName: 'Other Org' };

describe.skipIf(!DIR || !QUESTIONS)('npm run eval', () => {
  let stack: Stack;
  let dbUrl: string;
  let gw: string;

  beforeAll(async () => {
    dbUrl = await createDatabase('eval');
    stack = await startTestStack('eval', dbUrl, { demo: DEMO });
    gw = `${stack.gatewayUrl}/graphql`;
    const signup = await gql(gw, `mutation($i: SignupInput!) { signup(input: $i) { accessToken } }`, { i: OTHER });
    expect(signup.errors).toBeUndefined();
  }, 900_000);

  afterAll(async () => {
    await stack?.stop();
    if (dbUrl) await dropDatabase(dbUrl);
  });

  /** Prints the report's table and the questions that were not correct (the test log is where one reads them). */
  const show = (who: string, r: EvalReport) =>
    process.stderr.write(
      `\n[eval] ${who}, ${(r.durationMs / 1000).toFixed(1)} s\n${countsTable(r)}\n${notCorrect(r.questions)}\n`,
    );

  it(
    'the demo organization: every question answered, none wrong or errored; follow-ups in their conversation',
    async () => {
      const report = await runEval({
        graphqlUrl: gw,
        email: DEMO.email,
        password: DEMO.password,
        sets: SETS,
        concurrency: CONCURRENCY,
        questionTimeoutMs: QUESTION_MS,
      });
      show('demo organization', report);
      expect(report.total.questions).toBe(QUESTIONS);
      expect(report.sets.map((s) => path.basename(s.file))).toEqual(SETS.map((s) => path.basename(s.file)));
      // Each follow-up went into the conversation of the question it names.
      for (const q of report.questions.filter((x) => x.followupOf)) {
        const parent = report.questions.find((x) => x.set === q.set && x.id === q.followupOf)!;
        expect(q.conversationId).toBe(parent.conversationId);
      }
      const bad = report.questions
        .filter((q) => q.outcome === 'wrong' || q.outcome === 'error')
        .map((q) => `${q.set}/${q.id} ${q.outcome}: ${q.reason}`);
      expect(bad).toEqual([]);
      if (REQUIRE_ALL_CORRECT) expect(report.total.correct).toBe(QUESTIONS);
    },
    RUN_MS,
  );

  it(
    'another organization, without tables, asking the same questions gets no number at all',
    async () => {
      const report = await runEval({
        graphqlUrl: gw,
        email: OTHER.email,
        password: OTHER.password,
        sets: SETS,
        concurrency: CONCURRENCY,
        questionTimeoutMs: QUESTION_MS,
      });
      show('another organization', report);
      expect(report.total.questions).toBe(QUESTIONS);
      // No answer holds a numeric cell: the questions expecting one abstain, those expecting an abstention are correct.
      for (const q of report.questions) {
        expect({ id: q.id, outcome: q.outcome }).toEqual({
          id: q.id,
          outcome: q.expect.kind === 'abstain' ? 'correct' : 'abstained',
        });
      }
    },
    RUN_MS,
  );
});
