/**
 * Runs the analyst's evaluation through the gateway as a client would (@datapilot/sdk: GraphQL over HTTP, answers
 * streamed over graphql-ws): signs in, asks each question of the sets in a conversation of its own (a follow-up in
 * the conversation of the question it names, right after it), waits for the final assistant message, and checks its
 * result table by the README's rules (eval-check.ts). Nothing here reads a store or a service directly.
 */
import { parse } from 'graphql';
import WebSocket from 'ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createDataPilotClient, DataPilotClientError, type Answer, type DataPilotClient } from '@datapilot/sdk';
import { checkAnswer, type Expectation, type Outcome, type ResultTable } from './eval-check.ts';
import { conversationsOf, type EvalQuestion, type EvalSet } from './eval-set.ts';

/** Default of {@link EvalOptions.concurrency}: conversations asked at once (the chat's per-org question limit is 2). */
export const DEFAULT_EVAL_CONCURRENCY = 2;
/** Default of {@link EvalOptions.questionTimeoutMs}: the bound on one answer, from its admitted send to its end. */
export const DEFAULT_QUESTION_TIMEOUT_MS = 60_000;
/** Longest pause taken on one RATE_LIMITED refusal, whatever `retryAfterSeconds` says, in milliseconds. */
const MAX_RATE_LIMIT_PAUSE_MS = 10_000;
/** Pause between two reads of a message when its answer is polled (the subscription ended early), in milliseconds. */
const POLL_INTERVAL_MS = 1_000;

/** Options of {@link runEval}. */
export type EvalOptions = {
  /** The gateway's GraphQL URL over HTTP (`http://127.0.0.1:4000/graphql`); graphql-ws is the same URL in ws://. */
  graphqlUrl: string;
  /** The user who asks (its organization's tables answer). */
  email: string;
  password: string;
  /** The sets, asked in this order (conversations of all sets share the concurrency). */
  sets: readonly EvalSet[];
  /** Conversations asked at once, 1..8 (default {@link DEFAULT_EVAL_CONCURRENCY}); a conversation's questions in turn. */
  concurrency?: number;
  /**
   * Bound on one answer in milliseconds, from its admitted `sendMessage` to its final message (default
   * {@link DEFAULT_QUESTION_TIMEOUT_MS}); beyond it, `error`. Waiting to be admitted (RATE_LIMITED) is bounded apart,
   * by as much.
   */
  questionTimeoutMs?: number;
  /** Called once per question as soon as it is judged (progress lines). */
  onQuestion?: (q: QuestionReport) => void;
};

/** One question's record in the report. */
export type QuestionReport = {
  set: string;
  id: string;
  question: string;
  followupOf: string | null;
  expect: Expectation;
  outcome: Outcome;
  /** Why it is not correct (null when it is). */
  reason: string | null;
  conversationId: string | null;
  messageId: string | null;
  /** The final message's status (COMPLETE, FAILED), or null when none was seen. */
  status: string | null;
  errorCode: string | null;
  /** The answer's text. */
  text: string | null;
  sql: string | null;
  result: ResultTable | null;
  /** The interpreted question in words (`Message.plan.summary`), when the API serves it. */
  plan: string | null;
  /** Whether the answer came with a chart (`Message.chart`), when the API serves it; null when it does not. */
  chart: boolean | null;
  /** From the admitted `sendMessage` to the final message, in milliseconds (bounded by the question timeout). */
  ms: number;
  /** Time spent before `sendMessage` was admitted (RATE_LIMITED pauses), in milliseconds (bounded the same way). */
  waitedMs: number;
  /** How many times `sendMessage` was refused RATE_LIMITED and tried again. */
  rateLimited: number;
};

/** How many questions ended each way. */
export type Counts = { questions: number } & Record<Outcome, number>;

/** The whole run's report (written as JSON by scripts/eval.ts). */
export type EvalReport = {
  gateway: string;
  email: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  concurrency: number;
  questionTimeoutMs: number;
  sets: { name: string; file: string; counts: Counts }[];
  total: Counts;
  /** Every question, in set order and then file order. */
  questions: QuestionReport[];
};

/** Counts the outcomes of `questions`. */
export function tally(questions: readonly Pick<QuestionReport, 'outcome'>[]): Counts {
  const c: Counts = { questions: questions.length, correct: 0, abstained: 0, wrong: 0, error: 0 };
  for (const q of questions) c[q.outcome]++;
  return c;
}

/** `Message.plan.summary` and whether `Message.chart` is set: read apart, as older APIs have neither field. */
const EXTRAS = parse(
  'query EvalAnswerExtras($id: ID!) { message(id: $id) { id plan { summary } chart } }',
) as TypedDocumentNode<{ message: { plan: { summary: string } | null; chart: unknown } | null }, { id: string }>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const isFinal = (m: Pick<Answer, 'status'> | null | undefined) => m?.status === 'COMPLETE' || m?.status === 'FAILED';

/**
 * Runs every question of `opts.sets` and judges each (see {@link QuestionReport}, eval-check.ts `checkAnswer`): a
 * FAILED message, a question not answered within the bound, or a request that failed is `error`. `sendMessage`
 * refused RATE_LIMITED (the organization's question limit) waits `retryAfterSeconds` (at most 10 s a time) and
 * tries again, for at most the question timeout; the answer then has the question timeout of its own.
 * @returns the report; questions in set and file order.
 * @throws Error when the sign-in fails (wrong credentials, gateway unreachable): nothing was asked.
 */
export async function runEval(opts: EvalOptions): Promise<EvalReport> {
  const concurrency = Math.min(8, Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_EVAL_CONCURRENCY)));
  const timeoutMs = opts.questionTimeoutMs ?? DEFAULT_QUESTION_TIMEOUT_MS;
  const started = Date.now();
  const client = createDataPilotClient({
    url: opts.graphqlUrl,
    credentials: { email: opts.email, password: opts.password },
    webSocketImpl: WebSocket,
    headers: { 'apollographql-client-name': 'datapilot-eval' },
  });
  try {
    try {
      await client.login(opts.email, opts.password);
    } catch (e) {
      const code = e instanceof DataPilotClientError ? `${e.code}: ` : '';
      throw new Error(`sign-in as ${opts.email} at ${opts.graphqlUrl} failed: ${code}${(e as Error).message}`);
    }
    const jobs = opts.sets.flatMap((set) => conversationsOf(set).map((questions) => ({ set, questions })));
    const reports = new Map<string, QuestionReport>();
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        let conversationId: string | null = null;
        for (const q of job.questions) {
          const r = await askOne(client, job.set, q, conversationId, timeoutMs);
          conversationId = r.conversationId;
          reports.set(`${job.set.file}\n${q.id}`, r);
          opts.onQuestion?.(r);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
    const questions = opts.sets.flatMap((set) => set.questions.map((q) => reports.get(`${set.file}\n${q.id}`)!));
    const finished = Date.now();
    return {
      gateway: opts.graphqlUrl,
      email: opts.email,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
      concurrency,
      questionTimeoutMs: timeoutMs,
      sets: opts.sets.map((set) => ({
        name: set.name,
        file: set.file,
        counts: tally(questions.filter((q) => q.set === set.name)),
      })),
      total: tally(questions),
      questions,
    };
  } finally {
    await client.close();
  }
}

/**
 * Asks one question (in `conversationId`, or a new conversation) and judges the final message. Never throws: a
 * failure is the report's `error` with its reason.
 */
async function askOne(
  client: DataPilotClient,
  set: EvalSet,
  q: EvalQuestion,
  conversationId: string | null,
  timeoutMs: number,
): Promise<QuestionReport> {
  const started = Date.now();
  let answerStarted = started;
  const report: QuestionReport = {
    set: set.name,
    id: q.id,
    question: q.question,
    followupOf: q.followupOf,
    expect: q.expect,
    outcome: 'error',
    reason: null,
    conversationId,
    messageId: null,
    status: null,
    errorCode: null,
    text: null,
    sql: null,
    result: null,
    plan: null,
    chart: null,
    ms: 0,
    waitedMs: 0,
    rateLimited: 0,
  };
  const done = (outcome: Outcome, reason: string | null) => {
    report.outcome = outcome;
    report.reason = reason;
    report.ms = Date.now() - answerStarted;
    return report;
  };
  try {
    report.conversationId ??= (await client.createConversation(`eval ${set.name} ${q.id}`)).id;
    // sendMessage, again after each RATE_LIMITED refusal (it stores nothing then), for at most `timeoutMs`: the
    // organization's question limit is the run's own doing (or another client's), not the analyst's time.
    let asked: Awaited<ReturnType<DataPilotClient['ask']>> | undefined;
    while (!asked) {
      answerStarted = Date.now();
      try {
        asked = await client.ask(q.question, { conversationId: report.conversationId });
      } catch (e) {
        if (!(e instanceof DataPilotClientError) || e.code !== 'RATE_LIMITED') throw e;
        const pause = Math.min((e.retryAfterSeconds ?? 1) * 1000, MAX_RATE_LIMIT_PAUSE_MS);
        report.waitedMs = Date.now() - started;
        if (report.waitedMs + pause >= timeoutMs)
          return done(
            'error',
            `RATE_LIMITED: not admitted within ${timeoutMs / 1000} s (${report.rateLimited} retries)`,
          );
        report.rateLimited++;
        await sleep(pause);
      }
    }
    report.waitedMs = answerStarted - started;
    report.messageId = asked.messageId;
    const final = await finalMessage(client, asked, answerStarted + timeoutMs);
    if (!final) return done('error', `no final answer within ${timeoutMs / 1000} s`);
    report.status = final.status;
    report.errorCode = final.errorCode ?? null;
    report.text = final.text;
    report.sql = final.sql ?? null;
    report.result = final.result ? { columns: final.result.columns, rows: final.result.rows } : null;
    const extras = await client.request(EXTRAS, { id: asked.messageId }).catch(() => null);
    if (extras?.message) {
      report.plan = extras.message.plan?.summary ?? null;
      report.chart = extras.message.chart !== null && extras.message.chart !== undefined;
    }
    if (final.status === 'FAILED') return done('error', `the answer FAILED: ${final.errorCode ?? 'no code'}`);
    const verdict = checkAnswer(q.expect, report.result);
    return done(verdict.outcome, verdict.reason);
  } catch (e) {
    const code = e instanceof DataPilotClientError ? `${e.code}: ` : '';
    return done('error', `${code}${(e as Error).message}`);
  }
}

/**
 * The final (COMPLETE or FAILED) message of an asked question: from its `messageEvents` until `deadline`; when the
 * stream ends or fails before a final event, from `message(id)` read every second until `deadline`.
 * @returns the message, or null when it is not final by `deadline`.
 */
async function finalMessage(
  client: DataPilotClient,
  asked: Awaited<ReturnType<DataPilotClient['ask']>>,
  deadline: number,
): Promise<Answer | null> {
  const it = asked.events[Symbol.asyncIterator]();
  const TIMEOUT = Symbol('timeout');
  let streamEnded = false;
  for (;;) {
    const pending = it.next();
    // A stream abandoned at the deadline may still fail later (the socket closes at the end of the run).
    pending.catch(() => undefined);
    let step: Awaited<typeof pending> | typeof TIMEOUT;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<typeof TIMEOUT>((r) => (timer = setTimeout(() => r(TIMEOUT), deadline - Date.now())));
      step = await Promise.race([pending, timeout]);
    } catch {
      streamEnded = true;
      break;
    } finally {
      clearTimeout(timer);
    }
    if (step === TIMEOUT) {
      // The generator waits on the socket: `return` is queued until its next event, so it is not awaited.
      it.return(undefined).catch(() => undefined);
      break;
    }
    if (step.done) {
      streamEnded = true;
      break;
    }
    if (step.value.kind === 'COMPLETE' || step.value.kind === 'FAILED') {
      await it.return(undefined).catch(() => undefined);
      return step.value.message;
    }
  }
  // The stream said nothing final: what is stored decides (polled while the bound allows when the stream ended early).
  for (;;) {
    const stored = await client.message(asked.messageId).catch(() => null);
    if (isFinal(stored)) return stored!;
    if (!streamEnded || Date.now() + POLL_INTERVAL_MS >= deadline) return null;
    await sleep(POLL_INTERVAL_MS);
  }
}
