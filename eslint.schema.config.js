// Schema lint (`npm run lint:schema`, part of `npm run check`): @graphql-eslint's schema rules over the API schema as
// clients see it, `schema.graphql` at the repository's root. `npm run compose` writes that file from the composed
// supergraph (federation's types and directives removed) and `npm run compose:check` fails when it is stale, so this
// lint reads exactly what the gateway serves: every subgraph's SDL, the graph subgraph's generated types included.
// A finding names the type and field; fix it in the subgraph that defines them (subgraphs/<name>/schema.graphql, or
// subgraphs/graph/src/arguments.ts for @neo4j/graphql's generated types), then `npm run compose`.
import { fileURLToPath } from 'node:url';
import graphql from '@graphql-eslint/eslint-plugin';

const API_SCHEMA = fileURLToPath(new URL('./schema.graphql', import.meta.url));

/** Relay's connection types and @neo4j/graphql's relationship type: structure defined by a spec, not an entity. */
const RELAY_SUFFIXES = ['Connection', 'Edge', 'PageInfo', 'Relationship'];

/**
 * Object types without an `id` on purpose (strict-id-in-types). A new type must either have `id: ID!` or be added
 * here with its kind; the SDK's cache policy gives the identities of the entities keyed otherwise.
 */
const TYPES_WITHOUT_ID = [
  // Mutation results, never cached on their own (suffix Payload covers AuthPayload and friends).
  'CreatedApiKey',
  'CreatedInvitation',
  'UploadTicket',
  // Entities keyed by another field: LakeTable and Dataset by `name` within the caller's organization.
  'Dataset',
  'LakeTable',
  // One per session: the caller's user, organization and role.
  'Me',
  // A membership is identified by its user and organization.
  'Membership',
  // Subscription events: one value per event, identified by (message or run, sequence).
  'MessageEvent',
  'PipelineRunEvent',
  // Values that exist only inside their parent.
  'ColumnNullCount',
  // The semantic layer (graph subgraph): columns, metrics and references by names within their dataset.
  'ColumnRef',
  'ColumnReference',
  'Metric',
  'ValueAlias',
  'DatasetColumn',
  'LakeColumn',
  'LineageProduced',
  'AnswerPlan',
  'MessageResult',
  'MessageResultColumn',
  'PipelineError',
  'PipelineTask',
  'QualityReport',
  'RejectedRecord',
];

export default [
  {
    files: ['schema.graphql'],
    languageOptions: { parser: graphql.parser, parserOptions: { graphQLConfig: { schema: API_SCHEMA } } },
    plugins: { '@graphql-eslint': graphql },
    rules: {
      ...graphql.configs['flat/schema-recommended'].rules,
      // Every type, field, argument, input field, enum value and directive says what it means.
      '@graphql-eslint/require-description': [
        'error',
        {
          types: true,
          rootField: true,
          DirectiveDefinition: true,
          FieldDefinition: true,
          InputValueDefinition: true,
          EnumValueDefinition: true,
        },
      ],
      '@graphql-eslint/naming-convention': [
        'error',
        {
          ...graphql.configs['flat/schema-recommended'].rules['@graphql-eslint/naming-convention'][1],
          // AND / OR / NOT: @neo4j/graphql's boolean operators of its generated `...Where` filters.
          InputValueDefinition: { style: 'camelCase', ignorePattern: '^(AND|OR|NOT)$' },
        },
      ],
      '@graphql-eslint/strict-id-in-types': [
        'error',
        { exceptions: { suffixes: [...RELAY_SUFFIXES, 'Payload'], types: TYPES_WITHOUT_ID } },
      ],
      // Every paged list one way: the Relay Cursor Connections specification (issue 7, section 4).
      '@graphql-eslint/relay-connection-types': 'error',
      '@graphql-eslint/relay-page-info': 'error',
      // Forward or backward arguments suffice: @neo4j/graphql 7 generates forward-only connections
      // (`datasetsConnection`, `Dataset.runsConnection`); DataPilot's own take first/after/last/before.
      '@graphql-eslint/relay-arguments': ['error', { includeBoth: false }],
      '@graphql-eslint/relay-edge-types': [
        'error',
        {
          // @neo4j/graphql names a relationship's edge `<Type><Field>Relationship` (DatasetRunsRelationship).
          withEdgeSuffix: false,
          // No `Node` interface: objects are identified by their `id` (or an entity's key), not Relay global ids.
          shouldImplementNode: false,
          // Short lists (a table's columns, a run's tasks) are plain lists, not connections.
          listTypeCanWrapOnlyEdgeType: false,
        },
      ],
      // Off: it compares names by prefix only, so `Upload.uploadedBy` (the verb "uploaded") is reported as repeating
      // its type's name; field names are fixed by the entity contract (issue 7), not renamed for a lint.
      '@graphql-eslint/no-typename-prefix': 'off',
    },
  },
];
