/**
 * The org guard's schema wall: one deny-by-default transform that every subgraph applies to its built schema, driven
 * by the permission table (permissions.ts). It wraps every root field (Query, Mutation, Subscription `subscribe`) and
 * the federation `_entities` field so that, before any resolver runs:
 * - a field whose rule is not PUBLIC needs a verified tenant (UNAUTHENTICATED otherwise, saying why when the request
 *   carried a credential that was refused: `credentialRefused` of the context, context.ts); a PUBLIC field runs
 *   whatever the credential;
 * - a field whose rule is a role needs that role or a stronger one (FORBIDDEN naming the role otherwise);
 * - a field of PASSWORD_SESSION_ONLY refuses API-key sessions (FORBIDDEN with `requiredCredential: "session"`);
 * - `_entities` accepts only representations whose `__typename` is an entity of this subgraph with a rule
 *   (BAD_USER_INPUT otherwise) and needs the strongest rule among them.
 * A root field or entity without a rule stops the service at start-up (the table is the only place rules live).
 * The federation `_service { sdl }` then answers the final SDL, rules included, which is what the gateway composes.
 * Scope inside the organization (whose rows a field returns) stays with the resolvers, which take the org from
 * `ctx.tenant` alone.
 */
import {
  defaultFieldResolver,
  Kind,
  type ConstDirectiveNode,
  type FieldDefinitionNode,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
} from 'graphql';
import { printSubgraphSchema } from '@apollo/subgraph';
import { badUserInput, DataPilotError } from './errors.ts';
import { describeRule, PASSWORD_SESSION_ONLY, roleAtLeast, ruleOf, type Rule } from './permissions.ts';
import { ROLES, credentialRequired, type Role, type TenantContext } from './tenancy.ts';

/** Most representations one `_entities` call may carry (the gateway batches; a client cannot send more). */
export const MAX_ENTITY_REPRESENTATIONS = 1_000;

type GuardContext = { tenant?: TenantContext | null; credentialRefused?: DataPilotError } | undefined | null;

/**
 * Checks `rule` against the context's tenant.
 * @throws DataPilotError UNAUTHENTICATED without a tenant (unless PUBLIC): `credentialRequired` of tenancy.ts, with
 *   `extensions.credential` and the message of `credentialRefused` when the request's credential was refused (e.g.
 *   "The access token has expired."), else "A valid access token is required."; FORBIDDEN with
 *   `extensions.requiredRole` when the tenant's current role is weaker than the rule's.
 */
export function enforceRule(rule: Rule, ctx: GuardContext, passwordSessionOnly = false): void {
  if (rule === 'PUBLIC') return;
  const tenant = ctx?.tenant;
  if (!tenant) throw credentialRequired(ctx);
  if (passwordSessionOnly && tenant.credential === 'apiKey')
    throw new DataPilotError('FORBIDDEN', 'This needs a password sign-in; an API key cannot do it.', {
      requiredCredential: 'session',
    });
  if (rule === 'AUTHENTICATED' || roleAtLeast(tenant.role, rule)) return;
  throw new DataPilotError('FORBIDDEN', `This needs the ${rule} role or a stronger one; yours is ${tenant.role}.`, {
    requiredRole: rule,
  });
}

/** The stronger of two rules (PUBLIC < AUTHENTICATED < VIEWER < ANALYST < ADMIN < OWNER). */
function strongerRule(a: Rule, b: Rule): Rule {
  const rank = (r: Rule) =>
    r === 'PUBLIC' ? -2 : r === 'AUTHENTICATED' ? -1 : ROLES.length - ROLES.indexOf(r as Role);
  return rank(a) >= rank(b) ? a : b;
}

const isObjectType = (t: unknown): t is GraphQLObjectType =>
  Object.prototype.toString.call(t) === '[object GraphQLObjectType]';

/** True when the type carries a federation `@key` (its definition or an extension). */
function isEntity(type: GraphQLObjectType): boolean {
  const nodes = [type.astNode, ...type.extensionASTNodes].filter(Boolean) as (
    ObjectTypeDefinitionNode | ObjectTypeExtensionNode
  )[];
  return nodes.some((n) => n.directives?.some((d) => d.name.value === 'key'));
}

/**
 * True when some `@key` of the type lets this subgraph resolve references to it, i.e. is not `resolvable: false`
 * (a stub of another subgraph's entity). Only those get the `_entities` note in their description: a stub's
 * description would compete with the owner's in composition, which keeps one description per type.
 */
function resolvesReferences(type: GraphQLObjectType): boolean {
  const nodes = [type.astNode, ...type.extensionASTNodes].filter(Boolean) as (
    ObjectTypeDefinitionNode | ObjectTypeExtensionNode
  )[];
  const unresolvable = (d: ConstDirectiveNode) =>
    d.arguments?.some((a) => a.name.value === 'resolvable' && a.value.kind === Kind.BOOLEAN && !a.value.value);
  return nodes.some((n) => n.directives?.some((d) => d.name.value === 'key' && !unresolvable(d)));
}

/**
 * Appends `text` to a field's description, in the field and in the AST nodes the SDL printers read
 * (`printSubgraphSchema` prints from AST nodes). Idempotent.
 */
function annotate(type: GraphQLObjectType, field: GraphQLField<unknown, unknown>, text: string): void {
  if (field.description?.endsWith(text)) return;
  const description = field.description ? `${field.description}\n\n${text}` : text;
  field.description = description;
  const patchField = (f: FieldDefinitionNode): FieldDefinitionNode =>
    f.name.value === field.name ? { ...f, description: { kind: Kind.STRING, value: description, block: true } } : f;
  const t = type as {
    astNode?: ObjectTypeDefinitionNode | null;
    extensionASTNodes: readonly ObjectTypeExtensionNode[];
  };
  if (t.astNode) t.astNode = { ...t.astNode, fields: t.astNode.fields?.map(patchField) };
  t.extensionASTNodes = t.extensionASTNodes.map((n) => ({ ...n, fields: n.fields?.map(patchField) }));
  if (field.astNode) (field as { astNode: FieldDefinitionNode }).astNode = patchField(field.astNode);
}

/** Same as {@link annotate} for a type's own description. */
function annotateType(type: GraphQLObjectType, text: string): void {
  if (type.description?.endsWith(text)) return;
  const description = type.description ? `${type.description}\n\n${text}` : text;
  const t = type as { description?: string | null; astNode?: ObjectTypeDefinitionNode | null };
  t.description = description;
  if (t.astNode) t.astNode = { ...t.astNode, description: { kind: Kind.STRING, value: description, block: true } };
}

/**
 * Applies the permission table to `schema` in place (see the module comment) and returns it.
 * Also writes each rule into the field's (and each entity type's) description, so the SDL shows it.
 * @throws Error naming the field when a root field or an entity type has no rule in PERMISSIONS (fail closed).
 */
export function guardSchema(schema: GraphQLSchema): GraphQLSchema {
  const missing: string[] = [];
  const entityRules = new Map<string, Rule>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || !isEntity(type)) continue;
    const rule = ruleOf(`Entity.${type.name}`);
    if (!rule) missing.push(`Entity.${type.name}`);
    else {
      entityRules.set(type.name, rule);
      if (resolvesReferences(type))
        annotateType(type, `References to this entity (\`_entities\`): ${describeRule(rule)}`);
    }
  }
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  for (const root of roots) {
    if (!root) continue;
    const subscription = root === schema.getSubscriptionType();
    for (const field of Object.values(root.getFields())) {
      if (root === schema.getQueryType() && field.name === '_entities') {
        guardEntities(field, entityRules);
        continue;
      }
      const rule = ruleOf(`${root.name}.${field.name}`);
      if (!rule) {
        missing.push(`${root.name}.${field.name}`);
        continue;
      }
      const sessionOnly = PASSWORD_SESSION_ONLY.has(`${root.name}.${field.name}`);
      if (field.name !== '_service') annotate(root, field, describeRule(rule, sessionOnly));
      if (subscription) {
        const inner = field.subscribe;
        if (!inner) throw new Error(`guard: Subscription.${field.name} has no subscribe function`);
        field.subscribe = function guarded(source, args, ctx: GuardContext, info) {
          enforceRule(rule, ctx, sessionOnly);
          return inner.call(this, source, args, ctx, info);
        };
      } else {
        const inner: GraphQLFieldResolver<unknown, GuardContext> = field.resolve ?? defaultFieldResolver;
        field.resolve = function guarded(source, args, ctx: GuardContext, info) {
          enforceRule(rule, ctx, sessionOnly);
          return inner.call(this, source, args, ctx, info);
        };
      }
    }
  }
  if (missing.length)
    throw new Error(
      `guard: no permission rule for ${missing.join(', ')}; add each to packages/common/src/permissions.ts`,
    );
  // `_service.sdl` was printed when the schema was built; answer the SDL with the rules in it instead.
  const service = schema.getQueryType()?.getFields()['_service'];
  if (service) {
    const sdl = printSubgraphSchema(schema);
    service.resolve = () => ({ sdl });
  }
  return schema;
}

function guardEntities(field: GraphQLField<unknown, GuardContext>, entityRules: ReadonlyMap<string, Rule>): void {
  const inner: GraphQLFieldResolver<unknown, GuardContext> = field.resolve ?? defaultFieldResolver;
  field.resolve = function guarded(source, args: { representations?: unknown }, ctx: GuardContext, info) {
    const reps = args.representations;
    if (!Array.isArray(reps)) throw badUserInput('`representations` must be a list.', 'representations');
    if (reps.length > MAX_ENTITY_REPRESENTATIONS)
      throw badUserInput(`At most ${MAX_ENTITY_REPRESENTATIONS} representations per request.`, 'representations');
    let rule: Rule = 'PUBLIC';
    for (const rep of reps) {
      const typename = (rep as { __typename?: unknown } | null)?.__typename;
      const own = typeof typename === 'string' ? entityRules.get(typename) : undefined;
      if (!own)
        throw badUserInput(
          typeof typename === 'string'
            ? `"${typename.slice(0, 64)}" is not an entity of this service.`
            : 'Each representation needs a `__typename`.',
          'representations',
        );
      rule = strongerRule(rule, own);
    }
    // An empty list still needs a token: nothing is public through `_entities`.
    enforceRule(strongerRule(rule, 'AUTHENTICATED'), ctx);
    return inner.call(this, source, args, ctx, info);
  };
}
