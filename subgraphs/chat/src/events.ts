import type { Message } from './data/chat-store.ts';
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
type Topic = { active: boolean; events: MessageEvent[]; listeners: Set<Listener> };

/**
 * In-process publish/subscribe of message events, keyed by message id.
 *
 * While a message is being answered (between {@link MessageEventHub.begin} and its final event) the hub keeps its
 * events, so a subscriber that attaches late gets them replayed and sees every TEXT_DELTA. After the final event the
 * replay buffer is dropped: the stored message is then the truth.
 *
 * Single process only: with several replicas, the replica answering a message is not the one a subscriber reaches.
 * That needs PostgreSQL LISTEN/NOTIFY (or similar) as the transport — a later issue.
 */
export interface MessageEventHub {
  /** Marks `messageId` as being answered here; call before its id is returned to any client. */
  begin(messageId: string): void;
  /** Publishes `event` to the current listeners, in call order. Events of a message must be published in order. */
  publish(event: MessageEvent): void;
  /**
   * Attaches `listener` to `messageId`. Returns the events published so far (empty unless the message is being
   * answered here), whether it is being answered here, and `detach`.
   */
  listen(messageId: string, listener: Listener): { replay: MessageEvent[]; active: boolean; detach(): void };
}

/** Creates an empty {@link MessageEventHub}. */
export function createMessageEventHub(): MessageEventHub {
  const topics = new Map<string, Topic>();
  const topic = (id: string) => {
    let t = topics.get(id);
    if (!t) topics.set(id, (t = { active: false, events: [], listeners: new Set() }));
    return t;
  };
  const gc = (id: string, t: Topic) => {
    if (!t.active && t.listeners.size === 0) topics.delete(id);
  };
  return {
    begin(messageId) {
      const t = topic(messageId);
      t.active = true;
      t.events = [];
    },
    publish(event) {
      const t = topic(event.messageId);
      if (isFinalEvent(event)) {
        t.active = false;
        t.events = [];
      } else if (t.active) t.events.push(event);
      for (const l of [...t.listeners]) l(event);
      gc(event.messageId, t);
    },
    listen(messageId, listener) {
      const t = topic(messageId);
      t.listeners.add(listener);
      return {
        replay: [...t.events],
        active: t.active,
        detach() {
          t.listeners.delete(listener);
          gc(messageId, t);
        },
      };
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

/** Reads one message of the caller (tenant-scoped); null when it is not the caller's. */
type MessageReader = { getMessage(id: string): Promise<Message | null> };

/**
 * The event stream of one message for one subscriber, free of the subscribe-after-complete race: it attaches to
 * the hub FIRST (buffering), THEN loads the message through the caller's store.
 *
 * Without `afterSequence` (a first subscription):
 * - not the caller's message → null (the caller answers NOT_FOUND), nothing kept attached;
 * - already COMPLETE/FAILED → one final event (sequence 0) with the stored message, then the end;
 * - in progress here → the events published so far, then live ones, each sequence once, ending after the final one;
 * - in progress but not here (another replica, or a process that stopped mid-answer) → a STATUS event (sequence 0)
 *   with the stored message, then whatever this hub publishes. See {@link MessageEventHub} on replicas.
 *
 * With `afterSequence = n` (≥ 0; a resume after the events 1..n were seen): only events with a sequence above n,
 * each once, in order, so that what was received before and after a reconnect concatenates with nothing lost or
 * repeated:
 * - in progress here → the hub's kept events after n (exactly those published), then live ones;
 * - already COMPLETE/FAILED → the hub has dropped its events, so they are rebuilt from the stored message by
 *   {@link publishedEvents} (the responder's publication order: same kinds, sequences and text pieces), after n,
 *   ending with the final event; nothing at all when n is at or past the final event (the stream just ends);
 * - in progress but not here → the STATUS snapshot (sequence 0: not a numbered event), then this hub's events
 *   after n.
 * A final event published here whose sequence is not above the last one delivered (a cancel stored FAILED for an
 * answer that another process was publishing, numbered from the stored outline) is delivered once, numbered right
 * after it, as {@link publishedEvents} numbers FAILED.
 */
export async function openMessageEventStream(
  hub: MessageEventHub,
  reader: MessageReader,
  messageId: string,
  afterSequence?: number,
): Promise<AsyncIterableIterator<MessageEvent> | null> {
  const early: MessageEvent[] = [];
  let deliver: ((e: MessageEvent) => void) | null = null;
  const handle = hub.listen(messageId, (e) => (deliver ? deliver(e) : early.push(e)));
  let message: Message | null;
  try {
    message = await reader.getMessage(messageId);
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
      // Already seen, except a final event numbered from what this process stored of an answer another process was
      // publishing (a cancel of an answer whose process stopped): it comes right after what the subscriber saw.
      if (!isFinalEvent(e) || e.sequence === 0) return;
      e = { ...e, sequence: last + 1 };
    }
    last = e.sequence;
    stream.push(e);
  };
  const backlog = [...handle.replay, ...early];
  if (!handle.active && backlog.length === 0)
    stream.push({ messageId, sequence: 0, kind: 'STATUS', textDelta: null, message });
  for (const e of backlog) deliver(e);
  return stream.iterator;
}
