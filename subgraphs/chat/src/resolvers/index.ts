import type { Pool } from 'pg';
import {
  JSONScalar,
  connection,
  guardResolvers,
  notFound,
  pageArgs,
  requireTenant,
  textArg,
  uuidArg,
  type RequestContext,
} from '@datapilot/common';
import { createChatStore, type Conversation, type Message } from '../data/chat-store.ts';
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
 * The chat resolvers: thin — check the arguments, call the tenant's data layer, shape the result. Every root field
 * and entity reference is denied without a verified token ({@link guardResolvers}); the org and user come from
 * `ctx.tenant` only, inside {@link createChatStore}.
 */
export function createResolvers(deps: { pool: Pool; hub: MessageEventHub; responder: Responder }) {
  const store = (ctx: RequestContext) => createChatStore(deps.pool, requireTenant(ctx));

  const guarded = guardResolvers({
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
        const exchange = await store(ctx).addExchange(conversationId, text);
        if (!exchange) throw notFound('Conversation');
        deps.responder.start(requireTenant(ctx), exchange.assistantMessage, text);
        return exchange;
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
  });
  return { ...guarded, JSON: JSONScalar };
}
