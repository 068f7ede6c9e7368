/**
 * Production mode, in one place: `NODE_ENV=production` (the Node and Apollo convention) switches off what helps a
 * developer and helps an attacker as much — schema introspection, "Did you mean …?" field suggestions, the Apollo
 * Sandbox landing page — and refuses to start with a development secret (a value published in this repository).
 * Development (any other NODE_ENV, or none) keeps all of it, as convenient as before.
 *
 * What stays the same in both modes: unexpected errors are masked by `createFormatError` (errors.ts), and Apollo
 * Server's CSRF prevention stays on (a GET or a "simple" POST without `apollo-require-preflight` or a non-simple
 * content type is refused with HTTP 400), written out below so that no constructor can drop it by accident.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { isDeepStrictEqual } from 'node:util';
import { NoSchemaIntrospectionCustomRule, type ValidationRule } from 'graphql';
import type { EnvSpec } from './config.ts';

/** The `NODE_ENV` value that switches production mode on. */
export const PRODUCTION_NODE_ENV = 'production';

/**
 * Whether `env` asks for production mode: `NODE_ENV` is exactly `production` (any other value, e.g. `test` or
 * `development`, or none, is development). Entry points pass their environment; the default reads `process.env`,
 * which Apollo Server itself reads for the same variable.
 */
export function isProduction(env: Record<string, string | undefined> = process.env): boolean {
  return env.NODE_ENV === PRODUCTION_NODE_ENV;
}

/** The Apollo Server 5 options of {@link apolloModeOptions}. */
export type ApolloModeOptions = {
  /** `__schema` / `__type` answered (development) or refused at validation (production). */
  introspection: boolean;
  /** Validation errors keep (development) or lose (production) their "Did you mean …?" suggestions. */
  hideSchemaDetailsFromClientErrors: boolean;
  /** Always true: Apollo's CSRF prevention (its default, written out). */
  csrfPrevention: true;
};

/**
 * The options every ApolloServer constructor spreads (`...apolloModeOptions()`), gateway and subgraphs alike:
 * development `{ introspection: true, hideSchemaDetailsFromClientErrors: false, csrfPrevention: true }`,
 * production `{ introspection: false, hideSchemaDetailsFromClientErrors: true, csrfPrevention: true }`.
 * In production an introspection query answers HTTP 400 with code GRAPHQL_VALIDATION_FAILED and the message
 * "GraphQL introspection is not allowed by Apollo Server, …" (Apollo Server's NoIntrospection rule).
 * @param production default {@link isProduction}().
 */
export function apolloModeOptions(production = isProduction()): ApolloModeOptions {
  return { introspection: !production, hideSchemaDetailsFromClientErrors: production, csrfPrevention: true };
}

/** graphql-js's suggestion sentence at the end of an error message (the pattern Apollo's own plugin removes). */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/**
 * Removes "Did you mean …?" from every error of a request, not only validation errors (which
 * `hideSchemaDetailsFromClientErrors` covers): graphql-js also suggests input field and enum value names when it
 * coerces variables (`Field "rol" is not defined by type "F". Did you mean "role"?`).
 */
function useNoSuggestions(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors }) {
          for (const e of errors) if (SUGGESTION.test(e.message)) e.message = e.message.replace(SUGGESTION, '');
        },
      };
    },
  };
}

/**
 * The plugins of the mode, for every ApolloServer constructor (`plugins: [..., ...apolloModePlugins()]`):
 * development the embedded Apollo Sandbox on a browser's GET of the GraphQL path (Apollo's local default, written
 * out so that it does not depend on NODE_ENV twice); production no landing page at all (a browser's GET then gets
 * Apollo's CSRF refusal, HTTP 400), rather than Apollo's production default, which loads a page from Apollo's CDN,
 * and no "Did you mean …?" in any error message (variable coercion included).
 * @param production default {@link isProduction}().
 * @param sandbox what the Sandbox opens with in development: an example `document` (operations), its `variables` and
 *   `headers` (e.g. an `authorization` header to fill in). The Sandbox sends subscriptions over graphql-ws to the same
 *   URL as queries (`ws://…/graphql`), which is where every DataPilot service serves them.
 */
export function apolloModePlugins(
  production = isProduction(),
  sandbox: { document?: string; variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
): ApolloServerPlugin<BaseContext>[] {
  return production
    ? [ApolloServerPluginLandingPageDisabled(), useNoSuggestions()]
    : [
        ApolloServerPluginLandingPageLocalDefault({
          ...sandbox,
          embed: { initialState: { pollForSchemaUpdates: false } },
        }),
      ];
}

/**
 * The same rules for a GraphQL endpoint that validates documents itself (the graphql-ws servers, which Apollo's
 * options do not reach): `validate(schema, document, [...specifiedRules, ...rules], { hideSuggestions })` and
 * `getVariableValues(schema, definitions, variables, { hideSuggestions })`. Development: no rule, suggestions kept.
 * Production: graphql-js's NoSchemaIntrospectionCustomRule (`__schema` / `__type` refused; over a socket that serves
 * subscriptions only they cannot be asked anyway) and `hideSuggestions: true`.
 * @param production default {@link isProduction}().
 */
export function modeValidation(production = isProduction()): { rules: ValidationRule[]; hideSuggestions: boolean } {
  return { rules: production ? [NoSchemaIntrospectionCustomRule] : [], hideSuggestions: production };
}

/** What makes a variable a development secret; see {@link devSecret}. */
export type DevSecret = {
  /** How to set it in production, completing "set NAME to …" (e.g. "the base64 of 32 random bytes"). */
  how: string;
  /**
   * Values published in this repository besides the spec's own default (compose's development overlay, the
   * embedded engines' defaults). For a URL, its password is compared too (`postgres://u:<password>@…`).
   */
  knownValues: readonly string[];
};

/**
 * Marks `spec` as a secret whose development values are public: its default (if it has one) and `knownValues`.
 * Development accepts them; {@link loadConfig} under `NODE_ENV=production` refuses the variable when it is unset
 * (and so would take the public default) or holds one of those values, with a message that names it and says how
 * to set it. The parsed value is unchanged.
 * @example DEMO_PASSWORD: devSecret(str('password of the demo user', 'demo-password-2026'), 'a password of your own')
 */
export function devSecret<T>(
  spec: EnvSpec<T>,
  how: string,
  knownValues: readonly string[] = [],
): EnvSpec<T> & { devSecret: DevSecret } {
  return { ...spec, devSecret: { how, knownValues } };
}

/** The password part of a URL-shaped value (decoded), else undefined. */
function urlPassword(value: string): string | undefined {
  try {
    const password = new URL(value).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The production check of one development secret (used by {@link loadConfig}): undefined when the variable holds a
 * value of the operator's own, else the sentence that names `name`, why it is refused and how to set it.
 * @param raw the variable as set (undefined or '' when unset).
 * @param value what the spec parsed from it; `defaultValue` what it parses from nothing (undefined: no default).
 */
export function developmentSecretProblem(
  name: string,
  raw: string | undefined,
  secret: DevSecret,
  value: unknown,
  defaultValue: unknown,
): string | undefined {
  let why: string | undefined;
  if (raw === undefined || raw === '')
    why = defaultValue === undefined ? undefined : 'is unset, so its public development default would be used';
  else if (defaultValue !== undefined && isDeepStrictEqual(value, defaultValue))
    why = 'holds its public development default';
  else if (secret.knownValues.includes(raw)) why = 'holds a development value published in this repository';
  else {
    const password = urlPassword(raw);
    if (password !== undefined && secret.knownValues.includes(password))
      why = 'carries a development password published in this repository';
  }
  if (!why) return undefined;
  return `${name} ${why}; NODE_ENV=production refuses development secrets: set ${name} to ${secret.how}.`;
}

/**
 * Passwords this repository publishes for development PostgreSQL servers: the superuser of the embedded or Debian
 * cluster that `npm start` and the tests start (infra/postgres, `postgres`) and compose's development overlay
 * (`DATAPILOT_DB_PASSWORD`, `datapilot-dev`).
 */
export const DEVELOPMENT_DATABASE_PASSWORDS: readonly string[] = [
  'postgres',
  'postgres-dev',
  'datapilot-dev',
  'datapilot-auth-dev',
  'datapilot-chat-dev',
  'datapilot-lake-dev',
];

/** {@link devSecret} for a PostgreSQL URL (DATABASE_URL): production refuses one with a development password. */
export function devDatabaseUrl<T>(spec: EnvSpec<T>): EnvSpec<T> & { devSecret: DevSecret } {
  return devSecret(
    spec,
    'a postgres:// URL whose password is your own (not one of the development servers)',
    DEVELOPMENT_DATABASE_PASSWORDS,
  );
}
