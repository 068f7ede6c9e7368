import type { Pool } from 'pg';
import {
  DateTimeScalar,
  JSONObjectScalar,
  JSONScalar,
  badUserInput,
  connection,
  forbidden,
  notFound,
  pageArgs,
  type ConnectionArgs,
  requestLoader,
  ownOrganizationReference,
  requireTenant,
  roleAtLeast,
  textArg,
  uuidArg,
  type RequestContext,
} from '@datapilot/common';
import { createChatStore, type ChatStore, type Conversation, type Message } from '../data/chat-store.ts';
import { openMessageEventStream, type MessageEvent, type MessageEventHub } from '../events.ts';
import type { Responder } from '../responder.ts';
import { answerPlan } from './answer-plan.ts';

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
  /** The conversations the caller may read: `Query.conversations` and `Organization.conversations` alike. */
  const conversations = async (args: ConnectionArgs, ctx: RequestContext) =>
    connection(await store(ctx).listConversations(pageArgs(args, 'conversation', 20, MAX_PAGE)));

  const resolvers = {
    Query: {
      conversations: (_: unknown, args: ConnectionArgs, ctx: RequestContext) => conversations(args, ctx),
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
      cancelMessage: async (_: unknown, args: { id: string }, ctx: RequestContext) => {
        const tenant = requireTenant(ctx);
        const found = await store(ctx).getMessage(uuidArg(args.id, 'id'));
        if (!found) throw notFound('Message');
        // The member who asked, or an ADMIN/OWNER (a runaway answer in a shared conversation): never another member.
        const anyAuthor = roleAtLeast(tenant.role, 'ADMIN');
        if (found.authorId !== tenant.userId && !anyAuthor)
          throw forbidden('Only the member who asked, or an ADMIN, may cancel an answer.');
        if (found.status === 'COMPLETE' || found.status === 'FAILED') return found;
        return deps.responder.cancel(tenant, found, anyAuthor);
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
        subscribe: async (
          _: unknown,
          args: { messageId: string; afterSequence?: number | null },
          ctx: RequestContext,
        ) => {
          const messageId = uuidArg(args.messageId, 'messageId');
          const after = args.afterSequence ?? undefined;
          if (after !== undefined && after < 0) throw badUserInput('afterSequence must be 0 or more.', 'afterSequence');
          const stream = await openMessageEventStream(deps.hub, store(ctx), messageId, after);
          if (!stream) throw notFound('Message');
          return stream;
        },
        resolve: (event: MessageEvent) => event,
      },
    },
    Organization: {
      // Only the caller's own organization resolves (its fields are the caller's lists).
      __resolveReference: ownOrganizationReference,
      conversations: (_: unknown, args: ConnectionArgs, ctx: RequestContext) => conversations(args, ctx),
    },
    Conversation: {
      // Batched: every reference of one request is one statement (loaders.ts).
      __resolveReference: (ref: { id: unknown }, ctx: RequestContext) =>
        typeof ref.id === 'string' && UUID.test(ref.id)
          ? requestLoader<string, Conversation>(ctx, 'Conversation', (ids) => store(ctx).getConversations(ids)).load(
              ref.id.toLowerCase(),
            )
          : null,
      owner: (c: Conversation) => ({ __typename: 'User', id: c.createdBy }),
      messages: async (parent: Conversation, args: ConnectionArgs, ctx: RequestContext) =>
        connection(await store(ctx).listMessages(parent.id, pageArgs(args, 'message', 50, MAX_PAGE))),
    },
    Message: {
      __resolveReference: (ref: { id: unknown }, ctx: RequestContext) =>
        typeof ref.id === 'string' && UUID.test(ref.id)
          ? requestLoader<string, Message>(ctx, 'Message', (ids) => store(ctx).getMessages(ids)).load(
              ref.id.toLowerCase(),
            )
          : null,
      author: (m: Message) => ({ __typename: 'User', id: m.authorId }),
      conversation: async (m: Message, _: unknown, ctx: RequestContext) => {
        const found = await requestLoader<string, Conversation>(ctx, 'Conversation', (ids) =>
          store(ctx).getConversations(ids),
        ).load(m.conversationId);
        if (!found) throw notFound('Conversation');
        return found;
      },
      result: (m: Message) => m.result,
      plan: (m: Message) => answerPlan(m.plan),
    },
  };
  return { ...resolvers, JSON: JSONScalar, JSONObject: JSONObjectScalar, DateTime: DateTimeScalar };
}
