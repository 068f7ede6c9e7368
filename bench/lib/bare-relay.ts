/**
 * The baseline of the subscriptions benchmark: the least a Node process can do to relay one subgraph's subscription
 * events to many graphql-ws clients — a bare `ws` server, no authentication, no validation, no plan, no bounds.
 *
 * A client's `connection_init` is acknowledged at once and its `authorization` kept; its `subscribe` to
 * `messageEvents(messageId:)` joins the topic of that message: ONE upstream subscription per message (on one shared
 * graphql-ws socket to chat, each operation carrying the first subscriber's token in `extensions.authorization`, as
 * the gateway's upstream does). Each upstream event is serialized once and written, framed with each subscriber's
 * operation id, to every subscriber's socket in one synchronous loop; late subscribers get the events so far first;
 * the upstream's end is each subscriber's `complete`.
 *
 * Run by bench/subscriptions.ts as a process of its own: `RELAY_PORT=<port> RELAY_UPSTREAM=<chat ws url>
 * node --import tsx bench/lib/bare-relay.ts`; prints `READY` on stdout once listening.
 */
import { WebSocketServer, WebSocket } from 'ws';
import { createClient } from 'graphql-ws';
import { SHARED_CONNECTION_PARAMS } from '@datapilot/common';

const port = Number(process.env.RELAY_PORT);
const upstreamUrl = process.env.RELAY_UPSTREAM!;
const EVENTS = `subscription($id: ID!) { messageEvents(messageId: $id) { sequence kind textDelta } }`;

type Subscriber = { socket: WebSocket; id: string; prefix: Buffer };
type Topic = { subscribers: Set<Subscriber>; history: Buffer[]; ended: boolean };

const upstream = createClient({
  url: upstreamUrl,
  webSocketImpl: WebSocket,
  lazy: true,
  retryAttempts: 0,
  connectionParams: { ...SHARED_CONNECTION_PARAMS },
});
const topics = new Map<string, Topic>();

/** `{"id":<id>,"type":"complete"}` of graphql-transport-ws. */
const complete = (id: string) => JSON.stringify({ id, type: 'complete' });

function topicOf(messageId: string, authorization: string): Topic {
  let topic = topics.get(messageId);
  if (topic) return topic;
  const created: Topic = { subscribers: new Set(), history: [], ended: false };
  topic = created;
  topics.set(messageId, created);
  upstream.subscribe(
    { query: EVENTS, variables: { id: messageId }, extensions: { authorization } },
    {
      next: (result) => {
        const bytes = Buffer.from(`${JSON.stringify(result)}}`);
        created.history.push(bytes);
        for (const s of created.subscribers)
          if (s.socket.readyState === s.socket.OPEN) s.socket.send(Buffer.concat([s.prefix, bytes]), { binary: false });
      },
      complete: () => {
        created.ended = true;
        for (const s of created.subscribers) if (s.socket.readyState === s.socket.OPEN) s.socket.send(complete(s.id));
      },
      error: (e) => {
        console.error('bare relay: upstream error', e);
        created.ended = true;
        for (const s of created.subscribers) if (s.socket.readyState === s.socket.OPEN) s.socket.send(complete(s.id));
      },
    },
  );
  return created;
}

const wss = new WebSocketServer({ host: '127.0.0.1', port }, () => console.log('READY'));
wss.on('connection', (socket) => {
  let authorization = '';
  const mine: { topic: Topic; subscriber: Subscriber }[] = [];
  socket.on('message', (raw) => {
    const m = JSON.parse(String(raw)) as {
      type: string;
      id?: string;
      payload?: { authorization?: string; variables?: { id?: string } };
    };
    if (m.type === 'connection_init') {
      authorization = m.payload?.authorization ?? '';
      socket.send('{"type":"connection_ack"}');
    } else if (m.type === 'subscribe' && m.id && m.payload?.variables?.id) {
      const topic = topicOf(m.payload.variables.id, authorization);
      const subscriber = {
        socket,
        id: m.id,
        prefix: Buffer.from(`{"id":${JSON.stringify(m.id)},"type":"next","payload":`),
      };
      for (const bytes of topic.history) socket.send(Buffer.concat([subscriber.prefix, bytes]), { binary: false });
      if (topic.ended) socket.send(complete(m.id));
      else {
        topic.subscribers.add(subscriber);
        mine.push({ topic, subscriber });
      }
    } else if (m.type === 'ping') socket.send('{"type":"pong"}');
  });
  socket.on('close', () => {
    for (const { topic, subscriber } of mine) topic.subscribers.delete(subscriber);
  });
  socket.on('error', () => undefined);
});
process.on('SIGTERM', () => process.exit(0));
