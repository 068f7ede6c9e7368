/**
 * A local HTTP server that speaks the OpenAI chat-completions streaming protocol, for the LLM plug's tests:
 * `POST /v1/chat/completions` answers with server-sent events of `chat.completion.chunk` objects (a first chunk
 * with the assistant role, content tokens or tool-call fragments — the id and name in the first fragment of a
 * call, its `arguments` spread over the following ones — a last chunk with `finish_reason`, then `data: [DONE]`).
 *
 * Scripted per test: each request takes the next {@link Reply} of the queue (an empty queue answers 500). A reply
 * is a list of {@link Step}s written in order; builders make the usual ones ({@link toolCallReply},
 * {@link textReply}, {@link statusReply}). Every request is recorded (path, headers, parsed body), and
 * `closed(i)` resolves when the client has gone away from request `i` (or its reply ended).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One thing the server does while answering. */
export type Step =
  /** Write this text (UTF-8) or these bytes to the body (an SSE event when it is one). */
  | { write: string | Buffer }
  /** Wait until the promise settles (a test's gate), then go on. */
  | { wait: Promise<unknown> }
  /** Pause, in milliseconds (used to split writes into separate network reads, never for assertions). */
  | { sleep: number }
  /** Send nothing more and never end the response (a hung model). */
  | { hang: true };

/** A reply: the HTTP status and headers, then the body steps (the response ends after the last one). */
export type Reply = { status?: number; headers?: Record<string, string>; steps: Step[] };

/** A request as the server received it. */
export type RecordedRequest = {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
};

let chunkSeq = 0;

/** One `chat.completion.chunk` as an SSE event (`data: {...}` + blank line). */
export function chunkEvent(delta: Record<string, unknown>, finishReason: string | null = null, id = 'chatcmpl-t') {
  const chunk = {
    id,
    object: 'chat.completion.chunk',
    created: 1_760_000_000 + chunkSeq++,
    model: 'test-model',
    system_fingerprint: 'fp_test',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
  return { write: `data: ${JSON.stringify(chunk)}\n\n` };
}

/** The terminating event. */
export const DONE: { write: string } = { write: 'data: [DONE]\n\n' };

/** The SSE response headers of a streamed completion. */
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

/** `text` cut into `n` pieces of about equal length (the last takes the rest); n >= 1. */
export function splitInto(text: string, n: number): string[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => text.slice(i * size, i === n - 1 ? undefined : (i + 1) * size));
}

/**
 * A streamed tool call: a role chunk, a first fragment with the call's id and name (empty arguments), then
 * `args` (a JSON text, or an object serialized) in `pieces` argument fragments, a `tool_calls` finish, [DONE].
 * `between` steps are inserted between two fragments (e.g. a sleep); `content` tokens come first when given.
 */
export function toolCallReply(
  name: string,
  args: string | object,
  opts: { pieces?: number; between?: Step[]; content?: string[]; callId?: string } = {},
): Reply {
  const text = typeof args === 'string' ? args : JSON.stringify(args);
  const parts = splitInto(text, opts.pieces ?? 1);
  const steps: Step[] = [chunkEvent({ role: 'assistant', content: null })];
  for (const c of opts.content ?? []) steps.push(chunkEvent({ content: c }));
  steps.push(
    chunkEvent({
      tool_calls: [{ index: 0, id: opts.callId ?? 'call_1', type: 'function', function: { name, arguments: '' } }],
    }),
  );
  for (const p of parts) {
    steps.push(...(opts.between ?? []));
    steps.push(chunkEvent({ tool_calls: [{ index: 0, function: { arguments: p } }] }));
  }
  steps.push(chunkEvent({}, 'tool_calls'), DONE);
  return { steps };
}

/**
 * Streamed text: a role chunk, one chunk per token, a `stop` finish, [DONE]. `gates[i]`, when given, is awaited
 * before token i is sent (so a test can hold the stream open at a point it chooses).
 */
export function textReply(tokens: string[], gates: Record<number, Promise<unknown>> = {}): Reply {
  const steps: Step[] = [chunkEvent({ role: 'assistant', content: '' })];
  tokens.forEach((t, i) => {
    if (gates[i]) steps.push({ wait: gates[i] });
    steps.push(chunkEvent({ content: t }));
  });
  steps.push(chunkEvent({}, 'stop'), DONE);
  return { steps };
}

/** A non-2xx answer with an OpenAI-style error body. */
export function statusReply(status: number, message = 'The server had an error.'): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    steps: [{ write: JSON.stringify({ error: { message, type: 'server_error', code: null } }) }],
  };
}

/** A deferred promise with its resolve function (a gate for {@link Step} `wait`). */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

export type OpenAiServer = {
  /** The API base to give the client: `http://127.0.0.1:<port>/v1`. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Adds replies to the queue (one per coming request). */
  enqueue(...replies: Reply[]): void;
  /** Resolves when the response of request `i` (0-based) is over: ended by the server or closed by the client. */
  closed(i: number): Promise<'ended' | 'client-closed'>;
  /** What was written to the body of request `i` so far, one entry per write (bytes as UTF-8 text). */
  written(i: number): string[];
  close(): Promise<void>;
};

/** Starts the server on a free loopback port. */
export async function startOpenAiServer(): Promise<OpenAiServer> {
  const queue: Reply[] = [];
  const requests: RecordedRequest[] = [];
  const ends: Promise<'ended' | 'client-closed'>[] = [];
  const written: string[][] = [];
  const open = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    const i = requests.length;
    written[i] = [];
    const record: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: null };
    requests.push(record);
    let finished = false;
    ends[i] = new Promise((resolve) => {
      res.on('finish', () => resolve('ended'));
      res.on('close', () => resolve(res.writableFinished ? 'ended' : 'client-closed'));
    });
    res.on('close', () => {
      finished = true;
      open.delete(res);
    });
    open.add(res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        record.body = JSON.parse(text);
      } catch {
        record.body = text;
      }
      const reply = queue.shift() ?? statusReply(500, 'No reply scripted.');
      const status = reply.status ?? 200;
      res.writeHead(status, reply.headers ?? (status === 200 ? SSE_HEADERS : { 'content-type': 'application/json' }));
      res.flushHeaders();
      for (const step of reply.steps) {
        if (finished) return;
        if ('write' in step) {
          written[i]!.push(step.write.toString());
          // Backpressure as a real server: wait for the client to take the bytes (or to go away).
          if (!res.write(step.write))
            await new Promise((r) => {
              res.once('drain', r);
              res.once('close', r);
            });
        } else if ('wait' in step) await step.wait;
        else if ('sleep' in step) await new Promise((r) => setTimeout(r, step.sleep));
        else return; // hang
      }
      if (!finished) res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...replies) => queue.push(...replies),
    closed: async (i) => {
      while (!ends[i]) await new Promise((r) => setTimeout(r, 5));
      return ends[i]!;
    },
    written: (i) => written[i] ?? [],
    async close() {
      for (const res of open) res.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
