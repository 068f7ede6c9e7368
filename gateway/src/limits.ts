import {
  Kind,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type DocumentNode,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { DataPilotError } from '@datapilot/common';

/** Bounds on one operation, checked at the gateway before planning. */
export type OperationLimits = {
  /** Deepest field nesting allowed (the root fields are depth 1). Introspection subtrees (`__*`) do not add depth. */
  maxDepth: number;
  /** Most fields an operation may select in all (introspection included), aliases and fragment uses counted each time. */
  maxFields: number;
};

/** Defaults: deep enough for any DataPilot client, far below what costs the subgraphs real work. */
export const DEFAULT_LIMITS: OperationLimits = { maxDepth: 12, maxFields: 500 };

/**
 * Measures the operation: `{ depth, fields }` as defined in {@link OperationLimits}. Fragment spreads are
 * followed (validation has already rejected fragment cycles; a spread seen again on the same path stops).
 */
export function measureOperation(
  op: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): { depth: number; fields: number } {
  let fields = 0;
  // `inIntrospection`: below a `__schema`/`__type` field, fields count but depth does not (graphql-js
  // already bounds introspection nesting; aliases of it are what cost).
  const walk = (set: SelectionSetNode, depth: number, path: ReadonlySet<string>, inIntrospection: boolean): number => {
    let deepest = depth - 1;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        fields += 1;
        const intro = inIntrospection || sel.name.value.startsWith('__');
        const own = intro ? 0 : depth;
        const below = sel.selectionSet ? walk(sel.selectionSet, depth + 1, path, intro) : own;
        deepest = Math.max(deepest, intro ? 0 : below);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        deepest = Math.max(deepest, walk(sel.selectionSet, depth, path, inIntrospection));
      } else {
        const frag = fragments.get(sel.name.value);
        if (!frag || path.has(frag.name.value)) continue;
        deepest = Math.max(
          deepest,
          walk(frag.selectionSet, depth, new Set([...path, frag.name.value]), inIntrospection),
        );
      }
    }
    return deepest;
  };
  const depth = walk(op.selectionSet, 1, new Set(), false);
  return { depth, fields };
}

/**
 * Apollo Server plugin of the gateway: rejects, before any subgraph is called,
 * - a document with several operations and no (or an unknown) `operationName` (BAD_USER_INPUT, HTTP 400);
 * - a subscription sent over HTTP (BAD_USER_INPUT: subscriptions use graphql-ws at the same URL);
 * - an operation deeper than `maxDepth` or selecting more than `maxFields` fields (BAD_USER_INPUT, HTTP 400),
 *   which bounds what one request can make the subgraphs and Spark do (aliases included).
 */
export function useOperationLimits(limits: OperationLimits = DEFAULT_LIMITS): ApolloServerPlugin {
  const reject = (message: string) => new DataPilotError('BAD_USER_INPUT', message).asRequestError();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document }) {
          if (!operation)
            throw reject('The document has several operations (or not the one named): send operationName.');
          if (operation.operation === 'subscription')
            throw reject('Subscriptions are served over graphql-ws (WebSocket) at this same URL, not over HTTP.');
          const { depth, fields } = measureOperation(operation, fragmentsOf(document));
          if (depth > limits.maxDepth)
            throw reject(`The operation is ${depth} levels deep; at most ${limits.maxDepth} are allowed.`);
          if (fields > limits.maxFields)
            throw reject(`The operation selects ${fields} fields; at most ${limits.maxFields} are allowed.`);
        },
      };
    },
  };
}

function fragmentsOf(doc: DocumentNode): Map<string, FragmentDefinitionNode> {
  const m = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) m.set(d.name.value, d);
  return m;
}
