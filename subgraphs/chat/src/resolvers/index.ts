import type { Pool } from 'pg';
import {
  JSONScalar,
  connection,
  forbidden,
  notFound,
  pageArgs,
  requireTenant,
  textArg,
  uuidArg,
  type RequestContext,
} from '@datapilot/common';
import { createChatStore, type ChatStore, type Conversation, type Message } from '../data/chat-store.ts';
import { openMessageEventStream, type MessageEvent, type MessageEventHub } from '../events.ts';
import type { Responder } from '../responder.ts';

/** Longest question, in characters (after trimming). */
export const MAX_MESSAGE_CHARS = 4000;
/** Longest conversation title, in characters (after trimming). */
export const MAX_TITLE_CHARS = 200;
/** Largest page of a connection. */
export const MAX_PAGE = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Why a write to conversation `id` found nothing to write: FORBIDDEN when the caller may read it (a conversation
 * another member shared: only its creator writes to it), NOT_FOUND otherwise (none, another org's, another member's
 * private one: existence is not revealed).
 */
async function refusal(store: ChatStore, id: string) {
  return (await store.getConversation(id))
    ? forbidden('Only the creator of a conversation may change it or send messages in it.')
    : notFound('Conversation');
}

/**
 * The chat resolvers: thin — check the arguments, call the tenant's data layer, shape the result. Who may call each
 * root field and entity is the permission table's business (guardSchema, applied by the server); the org and user
 * come from `ctx.tenant` only, inside {@link createChatStore}.
 */
export function createResolvers(deps: { pool: Pool; hub: MessageEventHub; responder: Responder }) {
  const store = (ctx: RequestContext) => createChatStore(deps.pool, requireTenant(ctx));

  const resolvers = {
    Query: {
      conversations: async (_: unknown, args: { first?: number; after?: string }, ctx: RequestContext) => {
        const { first, after } = pageArgs(args, 'conversation', 20, MAX_PAGE);
        return connection(await store(ctx).listConversations(first, after));
      },
      conversation: async (_: unknown, args: { id: string }, ctx: RequestContext) => {
        const found = await store(ctx).getConversation(uuidArg(args.id, 'id'));
        if (!found) throw notFound('Conversation');
        return found;
      },
      message: async (_: unknown, args: { id: string }, ctx: RequestContext) => {
        const found = await store(ctx).getMessage(uuidArg(args.id, 'id'));
        if (!found) throw notFound('Message');
        return found;
      },
    },
    Mutation: {
      createConversation: (_: unknown, args: { title: string }, ctx: RequestContext) =>
        store(ctx).createConversation(textArg(args.title, 'title', MAX_TITLE_CHARS)),
      sendMessage: async (_: unknown, args: { conversationId: string; text: string }, ctx: RequestContext) => {
        const conversationId = uuidArg(args.conversationId, 'conversationId');
        const text = textArg(args.text, 'text', MAX_MESSAGE_CHARS);
        // A slot of the org's question limit first: RATE_LIMITED stores nothing.
        const slot = await deps.responder.admit(requireTenant(ctx));
        try {
          const exchange = await store(ctx).addExchange(conversationId, text);
          if (!exchange) throw await refusal(store(ctx), conversationId);
          deps.responder.start(requireTenant(ctx), exchange.assistantMessage, text, slot);
          return exchange;
        } catch (e) {
          slot.release(); // nothing started (released once: a started answer releases it itself)
          throw e;
        }
      },
      shareConversation: async (_: unknown, args: { id: string; shared: boolean }, ctx: RequestContext) => {
        const id = uuidArg(args.id, 'id');
        const updated = await store(ctx).setShared(id, args.shared);
        if (!updated) throw await refusal(store(ctx), id);
        return updated;
      },
    },
    Subscription: {
      messageEvents: {
        subscribe: async (_: unknown, args: { messageId: string }, ctx: RequestContext) => {
          const stream = await openMessageEventStream(deps.hub, store(ctx), uuidArg(args.messageId, 'messageId'));
          if (!stream) throw notFound('Message');
          return stream;
        },
        resolve: (event: MessageEvent) => event,
      },
    },
    Conversation: {
      __resolveReference: (ref: { id: string }, ctx: RequestContext) =>
        UUID.test(ref.id) ? store(ctx).getConversation(ref.id.toLowerCase()) : null,
      messages: async (parent: Conversation, args: { first?: number; after?: string }, ctx: RequestContext) => {
        const { first, after } = pageArgs(args, 'message', 50, MAX_PAGE);
        return connection(await store(ctx).listMessages(parent.id, first, after));
      },
    },
    Message: {
      __resolveReference: (ref: { id: string }, ctx: RequestContext) =>
        UUID.test(ref.id) ? store(ctx).getMessage(ref.id.toLowerCase()) : null,
      result: (m: Message) => m.result,
    },
  };
  return { ...resolvers, JSON: JSONScalar };
}
