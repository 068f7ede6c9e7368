import pg, { type Pool } from 'pg';
import type { Logger } from '@datapilot/common';
import {
  MESSAGE_EVENTS_CHANNEL,
  readMessageEvents,
  type EventNotice,
  type Message,
  type StoredMessageEvent,
} from './data/chat-store.ts';
import { publishedEvents } from './responder.ts';

/** What happened to an assistant message (see `MessageEventKind` in schema.graphql). */
export type MessageEventKind = 'STATUS' | 'PLAN' | 'SQL' | 'RESULT' | 'CHART' | 'TEXT_DELTA' | 'COMPLETE' | 'FAILED';

/** One event of one message; `sequence` counts 1, 2, 3, ... per message (0: a snapshot for a late subscriber). */
export type MessageEvent = {
  messageId: string;
  sequence: number;
  kind: MessageEventKind;
  textDelta: string | null;
  message: Message;
};

/** True for the kinds after which a message's stream ends. */
export const isFinalEvent = (e: MessageEvent) => e.kind === 'COMPLETE' || e.kind === 'FAILED';

type Listener = (e: MessageEvent) => void;

/**
 * The events of messages, as every replica of the chat service sees them: read from PostgreSQL, not from one
 * process's memory. The replica answering a message stores each event in the outbox table (chat-store.ts: in the
 * same transaction as the message change it reports) and NOTIFYs {@link MESSAGE_EVENTS_CHANNEL}; the hub of each
 * replica holds ONE dedicated connection that LISTENs on it, and follows only the messages its subscribers follow
 * (a "topic" per organization and message): it reads a followed message's stored events once when it starts
 * following it, then applies each announced event in sequence order — from the announcement itself when it carries
 * the event (pieces and small snapshots), else by reading the outbox past the last event it has (one read per replica,
 * whatever its number of subscribers). A gap (an announcement lost with a dropped connection) is filled from the
 * outbox the same way: on reconnect, every followed message is re-read past its last event, and
 * every `resyncMs` the unfinished followed messages are too, so nothing is lost even without announcements.
 * Events are delivered to the listeners of a topic exactly once each, in sequence order, up to the final one.
 */
export interface MessageEventHub {
  /**
   * Attaches `listener` to message `messageId` of organization `orgId` at once (events arriving from now on are
   * delivered to it) and returns the events known so far as `replay` (every stored event, in order, once the outbox
   * was read; empty when the message has none), and `detach`. A message of another org has no events under `orgId`
   * (topics and outbox reads are scoped by org): the caller checks first that the subscriber may read the message.
   */
  listen(orgId: string, messageId: string, listener: Listener): { replay: Promise<MessageEvent[]>; detach(): void };
  /** Stops listening and closes the dedicated connection. */
  close(): Promise<void>;
}

/** What a hub keeps of one followed message. */
type Topic = {
  orgId: string;
  messageId: string;
  listeners: Set<Listener>;
  /** Every event of the message so far, in order (sequences 1..last). */
  events: MessageEvent[];
  last: number;
  /** The latest stored snapshot (the last non-TEXT_DELTA event's) and the text pieces so far. */
  snapshot: Message | null;
  text: string;
  final: boolean;
  /** Whether the outbox was read once. */
  loaded: boolean;
  /** The work on this topic, one step at a time, never rejected. */
  chain: Promise<void>;
  syncQueued: boolean;
};

/** Options of {@link createMessageEventHub}. */
export type MessageEventHubOptions = {
  /** The service's pool (its role reads the outbox under the org wall); the LISTEN connection uses its settings. */
  pool: Pool;
  logger: Logger;
  /** How often the unfinished followed messages are re-read from the outbox, in milliseconds (default 5000). */
  resyncMs?: number;
};

/**
 * Creates the {@link MessageEventHub} of this replica over PostgreSQL and starts its LISTEN connection, reconnecting
 * after a loss (250 ms, doubling to 5 s between attempts).
 */
export function createMessageEventHub(opts: MessageEventHubOptions): MessageEventHub {
  const { pool } = opts;
  const log = opts.logger.child({ component: 'message-events' });
  const topics = new Map<string, Topic>();
  const keyOf = (orgId: string, messageId: string) => `${orgId}:${messageId}`;
  let closed = false;

  /**
   * Adds event `e` after the topic's last one. From an announcement (`read` false), only the next number is taken:
   * false for a gap (the caller reads the outbox). What the outbox holds is committed and in order: a number it
   * skips (none should be) is passed over rather than waited for.
   */
  const apply = (t: Topic, e: StoredMessageEvent, read: boolean): boolean => {
    if (t.final || e.sequence <= t.last) return true;
    if (e.sequence !== t.last + 1 && !read) return false;
    let message: Message;
    if (e.kind === 'TEXT_DELTA') {
      if (!t.snapshot) {
        // No step before it (never: STATUS comes first), so no message to show with it.
        if (!read) return false;
        t.last = e.sequence;
        return true;
      }
      t.text += e.textDelta ?? '';
      message = { ...t.snapshot, text: t.text };
    } else {
      if (!e.message) return false;
      message = t.snapshot = e.message;
    }
    const event: MessageEvent = {
      messageId: t.messageId,
      sequence: e.sequence,
      kind: e.kind,
      textDelta: e.kind === 'TEXT_DELTA' ? e.textDelta : null,
      message,
    };
    t.events.push(event);
    t.last = e.sequence;
    if (isFinalEvent(event)) t.final = true;
    for (const l of [...t.listeners]) l(event);
    return true;
  };
  /** Reads the outbox past the topic's last event and applies what it finds. */
  const sync = async (t: Topic) => {
    try {
      for (const e of await readMessageEvents(pool, t.orgId, t.messageId, t.last)) apply(t, e, true);
      t.loaded = true;
    } catch (err) {
      log.warn('could not read message events', { messageId: t.messageId, err });
    }
  };
  const enqueue = (t: Topic, step: () => Promise<void> | void) => {
    t.chain = t.chain.then(step).catch((err) => log.error('message event step failed', { err }));
  };
  const requestSync = (t: Topic) => {
    if (t.syncQueued) return;
    t.syncQueued = true;
    enqueue(t, () => {
      t.syncQueued = false;
      return sync(t);
    });
  };
  const onNotice = (payload: string | undefined) => {
    let n: EventNotice;
    try {
      n = JSON.parse(payload ?? '') as EventNotice;
    } catch {
      return;
    }
    const t = topics.get(keyOf(n.o, n.m));
    if (!t || t.final) return;
    const whole =
      n.s !== undefined && n.k !== undefined && (n.k === 'TEXT_DELTA' ? n.d !== undefined : n.x !== undefined);
    if (!whole) return requestSync(t);
    enqueue(t, async () => {
      const e = { sequence: n.s!, kind: n.k!, textDelta: n.d ?? null, message: n.x ?? null };
      if (!t.loaded || !apply(t, e, false)) await sync(t);
    });
  };

  // The LISTEN connection.
  let client: pg.Client | null = null;
  let retryMs = 250;
  let retryTimer: NodeJS.Timeout | undefined;
  const connect = async () => {
    retryTimer = undefined;
    if (closed) return;
    const c = new pg.Client({ ...pool.options, keepAlive: true });
    let dropped = false;
    const drop = (err?: unknown) => {
      if (dropped) return;
      dropped = true;
      if (client === c) client = null;
      c.end().catch(() => undefined);
      if (closed) return;
      log.warn('message event connection lost; reconnecting', { err, retryMs });
      retryTimer = setTimeout(() => void connect(), retryMs);
      retryMs = Math.min(retryMs * 2, 5_000);
    };
    c.on('notification', (n) => {
      if (n.channel === MESSAGE_EVENTS_CHANNEL) onNotice(n.payload);
    });
    c.on('error', drop);
    c.on('end', () => drop());
    try {
      await c.connect();
      await c.query(`LISTEN ${MESSAGE_EVENTS_CHANNEL}`);
    } catch (err) {
      return drop(err);
    }
    if (closed) return void c.end().catch(() => undefined);
    client = c;
    retryMs = 250;
    // What was announced while no connection listened is in the outbox.
    for (const t of topics.values()) if (!t.final) requestSync(t);
  };
  void connect();
  const resync = setInterval(() => {
    for (const t of topics.values()) if (!t.final) requestSync(t);
  }, opts.resyncMs ?? 5_000);
  resync.unref();

  return {
    listen(orgId, messageId, listener) {
      const key = keyOf(orgId, messageId);
      let t = topics.get(key);
      if (!t) {
        t = {
          orgId,
          messageId,
          listeners: new Set(),
          events: [],
          last: 0,
          snapshot: null,
          text: '',
          final: false,
          loaded: false,
          chain: Promise.resolve(),
          syncQueued: false,
        };
        topics.set(key, t);
        requestSync(t);
      }
      const topic = t;
      topic.listeners.add(listener);
      return {
        replay: topic.chain.then(() => [...topic.events]),
        detach() {
          topic.listeners.delete(listener);
          if (topic.listeners.size === 0 && topics.get(key) === topic) topics.delete(key);
        },
      };
    },
    async close() {
      closed = true;
      clearInterval(resync);
      clearTimeout(retryTimer);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}

/**
 * A pull-based async iterator over pushed values, ending after `isLast(value)` or `return()`.
 * Written by hand (not an async generator) so that `return()` ends it at once even while a `next()` waits —
 * graphql-ws calls `return()` when a client unsubscribes or the socket closes.
 */
export function createPushIterator<T>(
  isLast: (v: T) => boolean,
  onEnd: () => void,
): {
  push(v: T): void;
  iterator: AsyncIterableIterator<T>;
} {
  const queue: T[] = [];
  const waiting: ((r: IteratorResult<T>) => void)[] = [];
  let ended = false; // no more values will be queued
  let done = false; // the consumer has seen the end
  const end = () => {
    if (done) return;
    done = true;
    ended = true;
    queue.length = 0;
    onEnd();
    for (const w of waiting.splice(0)) w({ value: undefined, done: true });
  };
  const iterator: AsyncIterableIterator<T> = {
    next() {
      if (queue.length) {
        const value = queue.shift()!;
        if (ended && queue.length === 0) end();
        return Promise.resolve({ value, done: false });
      }
      if (ended || done) {
        end();
        return Promise.resolve({ value: undefined, done: true });
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    return() {
      end();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(e?: unknown) {
      end();
      return Promise.reject(e);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return {
    push(v) {
      if (ended) return;
      if (isLast(v)) ended = true;
      const w = waiting.shift();
      if (w) {
        w({ value: v, done: false });
        if (ended) end();
      } else queue.push(v);
    },
    iterator,
  };
}

/** Reads one message of the caller (tenant-scoped; `orgId` is the caller's org); null when it is not the caller's. */
type MessageReader = { readonly orgId: string; getMessage(id: string): Promise<Message | null> };

/**
 * The event stream of one message for one subscriber, free of the subscribe-after-complete race: it attaches to
 * the hub FIRST (buffering), THEN loads the message through the caller's store, THEN takes the hub's replay (the
 * stored events, read from the outbox under the caller's org). The message is the caller's (the store's visibility
 * rule) or nothing is kept attached and null is returned (the caller answers NOT_FOUND).
 *
 * Without `afterSequence` (a first subscription):
 * - already COMPLETE/FAILED → one final event (sequence 0) with the stored message, then the end;
 * - in progress (on any replica) → its stored events so far, then live ones, each sequence once, ending after the
 *   final one;
 * - not started yet (no stored event) → a STATUS event (sequence 0) with the stored message, then the events.
 *
 * With `afterSequence = n` (≥ 0; a resume after the events 1..n were seen): only events with a sequence above n,
 * each once, in order, so that what was received before and after a reconnect concatenates with nothing lost or
 * repeated:
 * - in progress → the stored events after n, then live ones;
 * - already COMPLETE/FAILED → rebuilt from the stored message by {@link publishedEvents} (the responder's
 *   publication order: same kinds, sequences and text pieces), after n, ending with the final event; nothing at all
 *   when n is at or past the final event (the stream just ends);
 * - not started yet → the STATUS snapshot (sequence 0: not a numbered event), then the events after n.
 * A final event whose sequence is not above the last one delivered (a FAILED stored while the subscriber had seen
 * more than was stored: {@link publishedEvents} numbers it from the stored outline) is delivered once, numbered
 * right after it.
 */
export async function openMessageEventStream(
  hub: MessageEventHub,
  reader: MessageReader,
  messageId: string,
  afterSequence?: number,
): Promise<AsyncIterableIterator<MessageEvent> | null> {
  const early: MessageEvent[] = [];
  let deliver: ((e: MessageEvent) => void) | null = null;
  const handle = hub.listen(reader.orgId, messageId, (e) => (deliver ? deliver(e) : early.push(e)));
  let message: Message | null;
  let replay: MessageEvent[] = [];
  try {
    message = await reader.getMessage(messageId);
    if (message && message.status !== 'COMPLETE' && message.status !== 'FAILED') replay = await handle.replay;
  } catch (e) {
    handle.detach();
    throw e;
  }
  if (!message) {
    handle.detach();
    return null;
  }
  const stream = createPushIterator<MessageEvent>(isFinalEvent, () => handle.detach());
  if (message.status === 'COMPLETE' || message.status === 'FAILED') {
    handle.detach();
    if (afterSequence === undefined)
      stream.push({ messageId, sequence: 0, kind: message.status, textDelta: null, message });
    else {
      const missed = publishedEvents(message, afterSequence).filter((e) => e.sequence > afterSequence);
      for (const e of missed) stream.push(e);
      if (missed.length === 0) void stream.iterator.return!();
    }
    return stream.iterator;
  }
  let last = afterSequence ?? 0;
  deliver = (e) => {
    if (e.sequence <= last) {
      // Already seen, except a final event numbered from a stored outline behind what the subscriber saw.
      if (!isFinalEvent(e) || e.sequence === 0) return;
      e = { ...e, sequence: last + 1 };
    }
    last = e.sequence;
    stream.push(e);
  };
  const backlog = [...replay, ...early];
  if (backlog.length === 0) stream.push({ messageId, sequence: 0, kind: 'STATUS', textDelta: null, message });
  for (const e of backlog) deliver(e);
  return stream.iterator;
}
