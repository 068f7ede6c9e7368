/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = T | null | undefined;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string };
  String: { input: string; output: string };
  Boolean: { input: boolean; output: boolean };
  Int: { input: number; output: number };
  Float: { input: number; output: number };
  /** An instant as an ISO 8601 string in UTC with milliseconds, e.g. `2026-12-02T08:15:00.000Z`. */
  DateTime: { input: string; output: string };
  /** Any JSON value (RFC 8259). Used for result rows. */
  JSON: { input: import('../json.ts').JsonValue; output: import('../json.ts').JsonValue };
  /** A JSON object (RFC 8259): keys are strings; values are any JSON values. */
  JSONObject: { input: import('../json.ts').JsonObject; output: import('../json.ts').JsonObject };
};

/** Where an API key stands. Only ACTIVE keys can be exchanged. */
export type ApiKeyStatus =
  /** Usable: not revoked and `expiresAt` not reached. */
  | 'ACTIVE'
  /** `expiresAt` has passed. */
  | 'EXPIRED'
  /**
   * Revoked by `revokeApiKey`, or because its creator left or was removed from the organization (revocation wins over
   * expiry).
   */
  | 'REVOKED';

/** What credential an audited action was taken with. */
export type AuditCredential =
  /** An API key. */
  | 'API_KEY'
  /** A password sign-in. */
  | 'SESSION'
  /** DataPilot itself (background work). */
  | 'SYSTEM';

/** A column of a dataset of the caller's organization, by names. */
export type ColumnRefInput = {
  /** The column's name (^[a-z][a-z0-9_]{0,62}$). */
  column: Scalars['String']['input'];
  /** The dataset's name (^[a-z][a-z0-9_]{0,62}$). */
  dataset: Scalars['String']['input'];
};

/**
 * What `updateColumn` changes: each field given replaces the stored value (lists replace the whole list); a field left
 * out stays as it is.
 */
export type ColumnUpdateInput = {
  /** What the column holds, at most 2000 characters after trimming; null or empty removes it. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** What kind of values the column holds; null is not a value (leave it out). */
  semanticType?: InputMaybe<SemanticType>;
  /**
   * Phrases people use for the column: at most 50, each 1..100 characters after trimming; stored lower-case, without
   * duplicates. Null is not a value (give an empty list to remove them all).
   */
  synonyms?: InputMaybe<Array<Scalars['String']['input']>>;
  /** The unit of its values (`mm`, `usd`), 1..50 characters after trimming; null or empty removes it. */
  unit?: InputMaybe<Scalars['String']['input']>;
  /**
   * Names people use for stored values: at most 200, names 1..100 characters after trimming and distinct (ignoring
   * case), values 1..1000 characters; when the column's values are known completely, each value must be one of them.
   * A name may not be another value of the column (ignoring case; checked against the values the pipeline listed, all
   * of them when known completely): the alias would hide that value. Null is not a value (give an empty list to remove
   * them all).
   */
  valueAliases?: InputMaybe<Array<ValueAliasInput>>;
};

/** What to upload. */
export type CreateUploadInput = {
  /** The file's name, as the user knows it (1..255 characters). */
  fileName: Scalars['String']['input'];
  /** The file's format. */
  format: UploadFormat;
  /** How many malformed records may be skipped (reported in the quality report) before the load fails; 0..10000, default 0. */
  maxBadRecords?: InputMaybe<Scalars['Int']['input']>;
  /** Default OVERWRITE. */
  mode?: InputMaybe<LoadMode>;
  /** The file's exact size in bytes: the presigned URL accepts only a body of this size. */
  sizeBytes: Scalars['Int']['input'];
  /** The gold table the file loads into (`^[a-z][a-z0-9_]{0,62}$`); created by the first load. */
  table: Scalars['String']['input'];
};

/** A sort key of `Dataset.runsConnection`: on the run (`node`) or on its PRODUCED edge (`edge`); set one field per object and list the objects in priority order. */
export type DatasetRunsConnectionSort = {
  /** Order by a property of the edge (`deltaVersion`). */
  edge?: InputMaybe<LineageProducedSort>;
  /** Order by a field of the run. */
  node?: InputMaybe<LineageRunSort>;
};

/** A filter on the runs of `Dataset.runsConnection`: every field given must hold (they combine with AND; use OR and NOT for more). Null is not a value anywhere in it (BAD_USER_INPUT): omit a field instead. At most 50 conditions per filter. */
export type DatasetRunsConnectionWhere = {
  /** Every filter of the list holds. */
  AND?: InputMaybe<Array<DatasetRunsConnectionWhere>>;
  /** This filter does not hold. */
  NOT?: InputMaybe<DatasetRunsConnectionWhere>;
  /** At least one filter of the list holds. */
  OR?: InputMaybe<Array<DatasetRunsConnectionWhere>>;
  /** Conditions on the properties of its PRODUCED edge (`deltaVersion`). */
  edge?: InputMaybe<LineageProducedWhere>;
  /** Conditions on the run. */
  node?: InputMaybe<LineageRunWhere>;
};

/** A sort key of `datasets` and `datasetsConnection`: set one field per object and list the objects in priority order (the order of several fields in one object is not guaranteed). */
export type DatasetSort = {
  /** Order by `Dataset.deltaVersion`: ASC or DESC. */
  deltaVersion?: InputMaybe<SortDirection>;
  /** Order by `Dataset.description`: ASC or DESC. */
  description?: InputMaybe<SortDirection>;
  /** Order by `Dataset.name`: ASC or DESC. */
  name?: InputMaybe<SortDirection>;
  /** Order by `Dataset.rowCount`: ASC or DESC. */
  rowCount?: InputMaybe<SortDirection>;
  /** Order by `Dataset.updatedAt`: ASC or DESC. */
  updatedAt?: InputMaybe<SortDirection>;
};

/** A filter on datasets: every field given must hold (they combine with AND; use OR and NOT for more). Null is not a value anywhere in it (BAD_USER_INPUT): omit a field instead. At most 50 conditions per filter. */
export type DatasetWhere = {
  /** Every filter of the list holds. */
  AND?: InputMaybe<Array<DatasetWhere>>;
  /** This filter does not hold. */
  NOT?: InputMaybe<DatasetWhere>;
  /** At least one filter of the list holds. */
  OR?: InputMaybe<Array<DatasetWhere>>;
  /** Conditions on `Dataset.deltaVersion`. */
  deltaVersion?: InputMaybe<IntScalarFilters>;
  /** Conditions on `Dataset.description`. */
  description?: InputMaybe<StringScalarFilters>;
  /** Conditions on `Dataset.name`. */
  name?: InputMaybe<StringScalarFilters>;
  /** Conditions on `Dataset.rowCount`. */
  rowCount?: InputMaybe<IntScalarFilters>;
  /** Conditions on `Dataset.updatedAt`. */
  updatedAt?: InputMaybe<DateTimeScalarFilters>;
};

/** Conditions on an instant (an ISO 8601 date-time such as `2026-12-02T08:15:00Z`; compared as instants, whatever the offset): every operator given must hold. */
export type DateTimeScalarFilters = {
  /** The same instant as this one. */
  eq?: InputMaybe<Scalars['DateTime']['input']>;
  /** After this instant. */
  gt?: InputMaybe<Scalars['DateTime']['input']>;
  /** At or after this instant. */
  gte?: InputMaybe<Scalars['DateTime']['input']>;
  /** The same instant as one of these. */
  in?: InputMaybe<Array<Scalars['DateTime']['input']>>;
  /** Before this instant. */
  lt?: InputMaybe<Scalars['DateTime']['input']>;
  /** At or before this instant. */
  lte?: InputMaybe<Scalars['DateTime']['input']>;
};

/** Conditions on an id: every operator given must hold. */
export type IdScalarFilters = {
  /** Contains this text (case-sensitive). */
  contains?: InputMaybe<Scalars['ID']['input']>;
  /** Ends with this text (case-sensitive). */
  endsWith?: InputMaybe<Scalars['ID']['input']>;
  /** Equal to this id. */
  eq?: InputMaybe<Scalars['ID']['input']>;
  /** Equal to one of these ids. */
  in?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** Starts with this text (case-sensitive). */
  startsWith?: InputMaybe<Scalars['ID']['input']>;
};

/** Conditions on an integer: every operator given must hold. */
export type IntScalarFilters = {
  /** Equal to this number. */
  eq?: InputMaybe<Scalars['Int']['input']>;
  /** Greater than this number. */
  gt?: InputMaybe<Scalars['Int']['input']>;
  /** Greater than or equal to this number. */
  gte?: InputMaybe<Scalars['Int']['input']>;
  /** Equal to one of these numbers. */
  in?: InputMaybe<Array<Scalars['Int']['input']>>;
  /** Less than this number. */
  lt?: InputMaybe<Scalars['Int']['input']>;
  /** Less than or equal to this number. */
  lte?: InputMaybe<Scalars['Int']['input']>;
};

/** Where an invitation stands. Only PENDING ones can be accepted. */
export type InvitationStatus =
  /** Used: the invitee joined (`acceptInvitation`, or `signup` with its token). */
  | 'ACCEPTED'
  /** Not used within seven days of its creation (`expiresAt` has passed). */
  | 'EXPIRED'
  /** Open: not used, not revoked, not expired. */
  | 'PENDING'
  /** Revoked by `revokeInvitation`, or replaced by a newer invitation to the same email; it can no longer be used. */
  | 'REVOKED';

/** A sort key of the PRODUCED edge of a run: set one field per object and list the objects in priority order (the order of several fields in one object is not guaranteed). */
export type LineageProducedSort = {
  /** Order by `LineageProduced.deltaVersion`: ASC or DESC. */
  deltaVersion?: InputMaybe<SortDirection>;
};

/** A filter on the PRODUCED edge of a run: every field given must hold (they combine with AND; use OR and NOT for more). Null is not a value anywhere in it (BAD_USER_INPUT): omit a field instead. At most 50 conditions per filter. */
export type LineageProducedWhere = {
  /** Every filter of the list holds. */
  AND?: InputMaybe<Array<LineageProducedWhere>>;
  /** This filter does not hold. */
  NOT?: InputMaybe<LineageProducedWhere>;
  /** At least one filter of the list holds. */
  OR?: InputMaybe<Array<LineageProducedWhere>>;
  /** Conditions on `LineageProduced.deltaVersion`. */
  deltaVersion?: InputMaybe<IntScalarFilters>;
};

/** A sort key of a dataset's runs: set one field per object and list the objects in priority order (the order of several fields in one object is not guaranteed). */
export type LineageRunSort = {
  /** Order by `LineageRun.dagRunId`: ASC or DESC. */
  dagRunId?: InputMaybe<SortDirection>;
  /** Order by `LineageRun.finishedAt`: ASC or DESC. */
  finishedAt?: InputMaybe<SortDirection>;
  /** Order by `LineageRun.id`: ASC or DESC. */
  id?: InputMaybe<SortDirection>;
  /** Order by `LineageRun.mode`: ASC or DESC. */
  mode?: InputMaybe<SortDirection>;
};

/** A filter on a dataset's runs: every field given must hold (they combine with AND; use OR and NOT for more). Null is not a value anywhere in it (BAD_USER_INPUT): omit a field instead. At most 50 conditions per filter. */
export type LineageRunWhere = {
  /** Every filter of the list holds. */
  AND?: InputMaybe<Array<LineageRunWhere>>;
  /** This filter does not hold. */
  NOT?: InputMaybe<LineageRunWhere>;
  /** At least one filter of the list holds. */
  OR?: InputMaybe<Array<LineageRunWhere>>;
  /** Conditions on `LineageRun.dagRunId`. */
  dagRunId?: InputMaybe<StringScalarFilters>;
  /** Conditions on `LineageRun.finishedAt`. */
  finishedAt?: InputMaybe<DateTimeScalarFilters>;
  /** Conditions on `LineageRun.id`. */
  id?: InputMaybe<IdScalarFilters>;
  /** Conditions on `LineageRun.mode`. */
  mode?: InputMaybe<LoadModeEnumScalarFilters>;
};

/** How a load writes the gold table. */
export type LoadMode =
  /** Adds rows; each column's type must agree with the table's (SCHEMA_CONFLICT otherwise). */
  | 'APPEND'
  /** Replaces the table's rows and schema. */
  | 'OVERWRITE';

/** Conditions on a load mode: every operator given must hold. */
export type LoadModeEnumScalarFilters = {
  /** Equal to this mode. */
  eq?: InputMaybe<LoadMode>;
  /** Equal to one of these modes. */
  in?: InputMaybe<Array<LoadMode>>;
};

/**
 * What a message event reports. An answer's events come in this order: STATUS (to STREAMING), then as the analyst
 * works STATUS lines, PLAN, SQL, RESULT and CHART (each at most once, the ones that apply), TEXT_DELTA pieces, and
 * COMPLETE or FAILED.
 */
export type MessageEventKind =
  /** The chart of the result is known: `message.chart` (a Vega-Lite v5 spec). Only for answers that have one. */
  | 'CHART'
  /** Final: the message is COMPLETE. */
  | 'COMPLETE'
  /** Final: the message FAILED (`message.errorCode` says why; CANCELLED after `cancelMessage`, INTERRUPTED when its replica stopped). */
  | 'FAILED'
  /**
   * The analyst's interpretation of the question is known: `message.plan` (table, measure, filters, grouping in words,
   * and the JSON plan), before its SQL runs.
   */
  | 'PLAN'
  /** The result table is known: `message.result`. */
  | 'RESULT'
  /** The SQL is known: `message.sql`. */
  | 'SQL'
  /**
   * The status changed (to STREAMING), or the analyst says what it is doing now: `message.statusText` (e.g. `Reading
   * your tables`; null on the first STATUS).
   */
  | 'STATUS'
  /** A piece of the answer text: `textDelta`; the deltas of one message concatenate to its final text. */
  | 'TEXT_DELTA';

/** Who wrote a message. */
export type MessageRole =
  /** The analyst: the answer. */
  | 'ASSISTANT'
  /** A member: the question. */
  | 'USER';

/** Where a message stands: PENDING → STREAMING → COMPLETE or FAILED (both final). A question (USER) is stored COMPLETE. */
export type MessageStatus =
  /** Final: `text` (and for answered questions `sql` and `result`) are set. */
  | 'COMPLETE'
  /** Final: the analyst could not answer; `errorCode` says why. */
  | 'FAILED'
  /** Stored; the analyst has not started. */
  | 'PENDING'
  /** The analyst is working; status lines, plan, SQL, result, chart and text arrive as events. */
  | 'STREAMING';

/** The aggregate a Metric computes. */
export type MetricAggregate =
  /** Mean of the column (numeric). */
  | 'AVG'
  /** Number of rows (no column), or of non-null values of the column. */
  | 'COUNT'
  /** Number of distinct non-null values of the column. */
  | 'COUNT_DISTINCT'
  /** Largest value of the column. */
  | 'MAX'
  /** Median of the column (numeric). */
  | 'MEDIAN'
  /** Smallest value of the column. */
  | 'MIN'
  /** Sum of the column (numeric). */
  | 'SUM';

/** A named metric, for `defineMetric`. */
export type MetricInput = {
  /** The aggregate it computes. */
  aggregate: MetricAggregate;
  /** The column it aggregates (a column of the dataset); required except for COUNT (null: count of rows). */
  column?: InputMaybe<Scalars['String']['input']>;
  /** What the metric measures, at most 2000 characters after trimming; null or empty for none. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** The metric's name, unique within the dataset (^[a-z][a-z0-9_]{0,62}$). */
  name: Scalars['String']['input'];
  /** Phrases people use for the metric: at most 50, each 1..100 characters after trimming; stored lower-case. */
  synonyms?: InputMaybe<Array<Scalars['String']['input']>>;
};

/** Where a pipeline run stands: PENDING → QUEUED → RUNNING → SUCCESS or FAILED (both final). */
export type PipelineRunState =
  /** Final: see `error`; the gold table keeps its previous version. */
  | 'FAILED'
  /**
   * Recorded, not yet accepted by the orchestrator: an earlier run of the same table is still going, or Airflow is
   * unreachable (see `waitingReason`).
   */
  | 'PENDING'
  /** Accepted by Airflow; its DAG run waits to start. */
  | 'QUEUED'
  /** Its DAG run is running. */
  | 'RUNNING'
  /** Final: every task succeeded; the table holds the version the run wrote (`deltaVersion`). */
  | 'SUCCESS';

/** How many rows of the referenced dataset one value of the referencing column matches. */
export type ReferenceCardinality =
  /** Many referencing rows per referenced row (`flights.origin` → `airports.iata`). */
  | 'MANY_TO_ONE'
  /** At most one referencing row per referenced row (the referencing column is a key too). */
  | 'ONE_TO_ONE';

/** Who declared a reference. */
export type ReferenceOrigin =
  /** Defined by an ADMIN (`defineRelationship`); the pipeline never removes it. */
  | 'DEFINED'
  /** Found by the pipeline's profiling (values covered ≥ 95%); recomputed when a table is loaded. */
  | 'PROFILED';

/**
 * A user's role inside one organization, strongest first: OWNER > ADMIN > ANALYST > VIEWER; each role may do what the
 * roles after it may. A field that needs a stronger role than the caller's answers FORBIDDEN with
 * `extensions.requiredRole`. Carried in the access token's `role` claim as a hint: every service enforces the role the
 * member holds now.
 */
export type Role =
  /** Manages members, invitations, pipelines and tables. */
  | 'ADMIN'
  /** Asks the analyst questions and uploads files. */
  | 'ANALYST'
  /** Manages the organization and its API keys. An organization always keeps at least one OWNER. */
  | 'OWNER'
  /** Reads tables, datasets and shared answers. */
  | 'VIEWER';

/** What kind of values a column holds (the pipeline's profiling decides; an ADMIN may correct it). */
export type SemanticType =
  /** A small set of labels to group and filter by (species, city). */
  | 'CATEGORY'
  /** Codes of places (US state codes, ISO country codes), with their full names as `valueAliases`. */
  | 'GEO_CODE'
  /** Values that identify a row or an entity (ids, names of many distinct things). */
  | 'IDENTIFIER'
  /** Numbers to aggregate (a temperature, a price, a count). */
  | 'MEASURE'
  /** Free text (long, mostly distinct values). */
  | 'TEXT'
  /** Dates, timestamps, or integer years and months. */
  | 'TIME';

/**
 * Input of `signup`: either `orgName` (a new organization, the user its OWNER) or `invitationToken` (join the
 * organization that invited this email, with the invitation's role), not both.
 */
export type SignupInput = {
  /** An email address (trimmed and lower-cased; at most 254 characters). */
  email: Scalars['String']['input'];
  /** The token of an open invitation to `email` (`dp_inv_…`, from `inviteMember`); it is used up by this signup. */
  invitationToken?: InputMaybe<Scalars['String']['input']>;
  /** Name of the new organization, 1 to 100 characters after trimming. Required without `invitationToken`. */
  orgName?: InputMaybe<Scalars['String']['input']>;
  /** At least 10 characters, from at least two of: lower-case letters, upper-case letters, digits, others. */
  password: Scalars['String']['input'];
};

/** An enum for sorting in either ascending or descending order. */
export type SortDirection =
  /** Sort by field values in ascending order. */
  | 'ASC'
  /** Sort by field values in descending order. */
  | 'DESC';

/** Conditions on a text: every operator given must hold. */
export type StringScalarFilters = {
  /** Contains this text (case-sensitive). */
  contains?: InputMaybe<Scalars['String']['input']>;
  /** Ends with this text (case-sensitive). */
  endsWith?: InputMaybe<Scalars['String']['input']>;
  /** Equal to this text. */
  eq?: InputMaybe<Scalars['String']['input']>;
  /** Equal to one of these texts. */
  in?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Starts with this text (case-sensitive). */
  startsWith?: InputMaybe<Scalars['String']['input']>;
};

/** Formats an upload can have; the pipeline checks a file's first bytes against the announced one (FORMAT_MISMATCH). */
export type UploadFormat =
  /** RFC 4180 comma-separated values with a header line. */
  | 'CSV'
  /** One JSON array of objects (or one object). */
  | 'JSON'
  /** Newline-delimited JSON: one object per line. */
  | 'NDJSON'
  /** Apache Parquet. */
  | 'PARQUET';

/** Where an upload stands: PENDING → UPLOADED → LOADING → LOADED, or FAILED. */
export type UploadStatus =
  /** The file or its run failed (see `error`), or it was never completed (UPLOAD_EXPIRED). */
  | 'FAILED'
  /** Its run succeeded: the gold table holds the file. */
  | 'LOADED'
  /** Its run is queued or running. */
  | 'LOADING'
  /** Announced (`createUpload`), not yet completed. */
  | 'PENDING'
  /** The object is there (`completeUpload`), waiting for its run. */
  | 'UPLOADED';

/** A name a person may use for a stored value. */
export type ValueAliasInput = {
  /** What a person says (`Texas`), 1..100 characters after trimming. */
  name: Scalars['String']['input'];
  /** The value stored in the column (`TX`), 1..1000 characters, as stored. */
  value: Scalars['String']['input'];
};

export type SessionFragment = {
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
  role: Role;
  user: { id: string; email: string };
  organization: { id: string; name: string };
};

export type LoginMutationVariables = Exact<{
  email: Scalars['String']['input'];
  password: Scalars['String']['input'];
}>;

export type LoginMutation = {
  login: {
    accessToken: string;
    refreshToken: string;
    expiresAt: string;
    role: Role;
    user: { id: string; email: string };
    organization: { id: string; name: string };
  };
};

export type SignupMutationVariables = Exact<{
  input: SignupInput;
}>;

export type SignupMutation = {
  signup: {
    accessToken: string;
    refreshToken: string;
    expiresAt: string;
    role: Role;
    user: { id: string; email: string };
    organization: { id: string; name: string };
  };
};

export type RefreshTokenMutationVariables = Exact<{
  refreshToken: Scalars['String']['input'];
}>;

export type RefreshTokenMutation = {
  refreshToken: {
    accessToken: string;
    refreshToken: string;
    expiresAt: string;
    role: Role;
    user: { id: string; email: string };
    organization: { id: string; name: string };
  };
};

export type SwitchOrganizationMutationVariables = Exact<{
  orgId: Scalars['ID']['input'];
}>;

export type SwitchOrganizationMutation = {
  switchOrganization: {
    accessToken: string;
    refreshToken: string;
    expiresAt: string;
    role: Role;
    user: { id: string; email: string };
    organization: { id: string; name: string };
  };
};

export type SignOutMutationVariables = Exact<{ [key: string]: never }>;

export type SignOutMutation = { signOut: boolean };

export type MeQueryVariables = Exact<{ [key: string]: never }>;

export type MeQuery = {
  me: { role: Role; user: { id: string; email: string }; organization: { id: string; name: string } };
};

export type OrganizationsQueryVariables = Exact<{ [key: string]: never }>;

export type OrganizationsQuery = { organizations: Array<{ role: Role; organization: { id: string; name: string } }> };

export type CreateConversationMutationVariables = Exact<{
  title: Scalars['String']['input'];
}>;

export type CreateConversationMutation = {
  createConversation: { id: string; title: string; createdAt: string; shared: boolean };
};

export type SendMessageMutationVariables = Exact<{
  conversationId: Scalars['ID']['input'];
  text: Scalars['String']['input'];
}>;

export type SendMessageMutation = {
  sendMessage: { userMessage: { id: string }; assistantMessage: { id: string; status: MessageStatus } };
};

export type AnswerFragment = {
  id: string;
  conversationId: string;
  role: MessageRole;
  status: MessageStatus;
  text: string;
  sql?: string | null;
  errorCode?: string | null;
  createdAt: string;
  statusText?: string | null;
  chart?: import('../json.ts').JsonObject | null;
  plan?: {
    summary: string;
    table: string;
    measure: string;
    filters: Array<string>;
    grouping?: string | null;
    json: import('../json.ts').JsonObject;
  } | null;
  result?: {
    rows: Array<Array<import('../json.ts').JsonValue | null>>;
    columns: Array<{ name: string; type: string }>;
  } | null;
};

export type CancelMessageMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;

export type CancelMessageMutation = {
  cancelMessage: {
    id: string;
    conversationId: string;
    role: MessageRole;
    status: MessageStatus;
    text: string;
    sql?: string | null;
    errorCode?: string | null;
    createdAt: string;
    statusText?: string | null;
    chart?: import('../json.ts').JsonObject | null;
    plan?: {
      summary: string;
      table: string;
      measure: string;
      filters: Array<string>;
      grouping?: string | null;
      json: import('../json.ts').JsonObject;
    } | null;
    result?: {
      rows: Array<Array<import('../json.ts').JsonValue | null>>;
      columns: Array<{ name: string; type: string }>;
    } | null;
  };
};

export type MessageQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;

export type MessageQuery = {
  message?: {
    id: string;
    conversationId: string;
    role: MessageRole;
    status: MessageStatus;
    text: string;
    sql?: string | null;
    errorCode?: string | null;
    createdAt: string;
    statusText?: string | null;
    chart?: import('../json.ts').JsonObject | null;
    plan?: {
      summary: string;
      table: string;
      measure: string;
      filters: Array<string>;
      grouping?: string | null;
      json: import('../json.ts').JsonObject;
    } | null;
    result?: {
      rows: Array<Array<import('../json.ts').JsonValue | null>>;
      columns: Array<{ name: string; type: string }>;
    } | null;
  } | null;
};

export type MessageEventsSubscriptionVariables = Exact<{
  messageId: Scalars['ID']['input'];
  afterSequence?: InputMaybe<Scalars['Int']['input']>;
}>;

export type MessageEventsSubscription = {
  messageEvents: {
    messageId: string;
    sequence: number;
    kind: MessageEventKind;
    textDelta?: string | null;
    message: {
      id: string;
      conversationId: string;
      role: MessageRole;
      status: MessageStatus;
      text: string;
      sql?: string | null;
      errorCode?: string | null;
      createdAt: string;
      statusText?: string | null;
      chart?: import('../json.ts').JsonObject | null;
      plan?: {
        summary: string;
        table: string;
        measure: string;
        filters: Array<string>;
        grouping?: string | null;
        json: import('../json.ts').JsonObject;
      } | null;
      result?: {
        rows: Array<Array<import('../json.ts').JsonValue | null>>;
        columns: Array<{ name: string; type: string }>;
      } | null;
    };
  };
};

export type LakeTablesQueryVariables = Exact<{ [key: string]: never }>;

export type LakeTablesQuery = {
  lakeTables: Array<{
    name: string;
    version: number;
    rowCount: number;
    columns: Array<{ name: string; type: string; nullable: boolean }>;
  }>;
};

export type LakeTableRowsQueryVariables = Exact<{
  name: Scalars['String']['input'];
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;

export type LakeTableRowsQuery = {
  lakeTable?: {
    name: string;
    version: number;
    rowCount: number;
    columns: Array<{ name: string; type: string; nullable: boolean }>;
    rows: {
      totalCount: number;
      edges: Array<{ cursor: string; node: import('../json.ts').JsonObject }>;
      pageInfo: { hasNextPage: boolean; endCursor?: string | null };
    };
  } | null;
};

export type CreateUploadMutationVariables = Exact<{
  input: CreateUploadInput;
}>;

export type CreateUploadMutation = {
  createUpload: {
    url: string;
    headers: import('../json.ts').JsonObject;
    expiresAt: string;
    upload: {
      id: string;
      table: string;
      fileName: string;
      format: UploadFormat;
      mode: LoadMode;
      sizeBytes: number;
      status: UploadStatus;
    };
  };
};

export type CompleteUploadMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;

export type CompleteUploadMutation = {
  completeUpload: {
    id: string;
    status: UploadStatus;
    error?: { code: string; message: string } | null;
    run?: { id: string; state: PipelineRunState } | null;
  };
};

export type RunFragment = {
  id: string;
  table: string;
  state: PipelineRunState;
  mode: LoadMode;
  reason: string;
  createdAt: string;
  startedAt?: string | null;
  endedAt?: string | null;
  deltaVersion?: number | null;
  waitingReason?: string | null;
  tasks: Array<{ name: string; state: string; tries: number; durationMs?: number | null }>;
  quality?: { rowsRead: number; rowsWritten: number; rowsRejected: number } | null;
  error?: { code: string; message: string } | null;
};

export type PipelineRunQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;

export type PipelineRunQuery = {
  pipelineRun?: {
    id: string;
    table: string;
    state: PipelineRunState;
    mode: LoadMode;
    reason: string;
    createdAt: string;
    startedAt?: string | null;
    endedAt?: string | null;
    deltaVersion?: number | null;
    waitingReason?: string | null;
    tasks: Array<{ name: string; state: string; tries: number; durationMs?: number | null }>;
    quality?: { rowsRead: number; rowsWritten: number; rowsRejected: number } | null;
    error?: { code: string; message: string } | null;
  } | null;
};

export type PipelineRunEventsSubscriptionVariables = Exact<{
  runId: Scalars['ID']['input'];
}>;

export type PipelineRunEventsSubscription = {
  pipelineRunEvents: {
    sequence: number;
    run: {
      id: string;
      table: string;
      state: PipelineRunState;
      mode: LoadMode;
      reason: string;
      createdAt: string;
      startedAt?: string | null;
      endedAt?: string | null;
      deltaVersion?: number | null;
      waitingReason?: string | null;
      tasks: Array<{ name: string; state: string; tries: number; durationMs?: number | null }>;
      quality?: { rowsRead: number; rowsWritten: number; rowsRejected: number } | null;
      error?: { code: string; message: string } | null;
    };
  };
};

export const SessionFragmentDoc = {
  kind: 'Document',
  definitions: [
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Session' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'AuthPayload' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'accessToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'refreshToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'expiresAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'user' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'email' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'organization' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SessionFragment, unknown>;
export const AnswerFragmentDoc = {
  kind: 'Document',
  definitions: [
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Answer' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'Message' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'id' } },
          { kind: 'Field', name: { kind: 'Name', value: 'conversationId' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          { kind: 'Field', name: { kind: 'Name', value: 'status' } },
          { kind: 'Field', name: { kind: 'Name', value: 'text' } },
          { kind: 'Field', name: { kind: 'Name', value: 'sql' } },
          { kind: 'Field', name: { kind: 'Name', value: 'errorCode' } },
          { kind: 'Field', name: { kind: 'Name', value: 'createdAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'statusText' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'plan' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'summary' } },
                { kind: 'Field', name: { kind: 'Name', value: 'table' } },
                { kind: 'Field', name: { kind: 'Name', value: 'measure' } },
                { kind: 'Field', name: { kind: 'Name', value: 'filters' } },
                { kind: 'Field', name: { kind: 'Name', value: 'grouping' } },
                { kind: 'Field', name: { kind: 'Name', value: 'json' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'result' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'columns' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'type' } },
                    ],
                  },
                },
                { kind: 'Field', name: { kind: 'Name', value: 'rows' } },
              ],
            },
          },
          { kind: 'Field', name: { kind: 'Name', value: 'chart' } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<AnswerFragment, unknown>;
export const RunFragmentDoc = {
  kind: 'Document',
  definitions: [
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Run' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'PipelineRun' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'id' } },
          { kind: 'Field', name: { kind: 'Name', value: 'table' } },
          { kind: 'Field', name: { kind: 'Name', value: 'state' } },
          { kind: 'Field', name: { kind: 'Name', value: 'mode' } },
          { kind: 'Field', name: { kind: 'Name', value: 'reason' } },
          { kind: 'Field', name: { kind: 'Name', value: 'createdAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'startedAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'endedAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'deltaVersion' } },
          { kind: 'Field', name: { kind: 'Name', value: 'waitingReason' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'tasks' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                { kind: 'Field', name: { kind: 'Name', value: 'state' } },
                { kind: 'Field', name: { kind: 'Name', value: 'tries' } },
                { kind: 'Field', name: { kind: 'Name', value: 'durationMs' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'quality' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'rowsRead' } },
                { kind: 'Field', name: { kind: 'Name', value: 'rowsWritten' } },
                { kind: 'Field', name: { kind: 'Name', value: 'rowsRejected' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'error' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'code' } },
                { kind: 'Field', name: { kind: 'Name', value: 'message' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<RunFragment, unknown>;
export const LoginDocument = {
  __meta__: { hash: '074fe6b30994d157dc1b95191ff453127b910cbef4ad66ee60953b62590575a1' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'Login' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'email' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'String' } } },
        },
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'password' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'String' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'login' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'email' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'email' } },
              },
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'password' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'password' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Session' } }],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Session' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'AuthPayload' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'accessToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'refreshToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'expiresAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'user' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'email' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'organization' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<LoginMutation, LoginMutationVariables>;
export const SignupDocument = {
  __meta__: { hash: '5a66b4c7c7652f475f180bbc9ed83f374ec54cec8d8113bbb7822fc0b74cc938' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'Signup' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'input' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'SignupInput' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'signup' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'input' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'input' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Session' } }],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Session' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'AuthPayload' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'accessToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'refreshToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'expiresAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'user' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'email' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'organization' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SignupMutation, SignupMutationVariables>;
export const RefreshTokenDocument = {
  __meta__: { hash: 'f9d143be5c60b6e82683b705c9fe508cd7fcc83e5b204c079a8596f8e45b6a91' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'RefreshToken' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'refreshToken' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'String' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'refreshToken' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'refreshToken' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'refreshToken' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Session' } }],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Session' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'AuthPayload' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'accessToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'refreshToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'expiresAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'user' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'email' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'organization' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<RefreshTokenMutation, RefreshTokenMutationVariables>;
export const SwitchOrganizationDocument = {
  __meta__: { hash: '226521d721ec4eea495de6b8f7ffb7016fca75219de68144cfe268519d8d1138' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'SwitchOrganization' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'orgId' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'ID' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'switchOrganization' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'orgId' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'orgId' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Session' } }],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Session' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'AuthPayload' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'accessToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'refreshToken' } },
          { kind: 'Field', name: { kind: 'Name', value: 'expiresAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'user' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'email' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'organization' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SwitchOrganizationMutation, SwitchOrganizationMutationVariables>;
export const SignOutDocument = {
  __meta__: { hash: '39300be1f6ff47633a8c264de2a924d5b71367b646d3bf86d82d7c51c6543956' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'SignOut' },
      selectionSet: { kind: 'SelectionSet', selections: [{ kind: 'Field', name: { kind: 'Name', value: 'signOut' } }] },
    },
  ],
} as unknown as DocumentNode<SignOutMutation, SignOutMutationVariables>;
export const MeDocument = {
  __meta__: { hash: '71180725ee66fc8e9902a36967a8ce5c018cb7bb2aa154f7dac4b902ae19a6e1' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'query',
      name: { kind: 'Name', value: 'Me' },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'me' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'role' } },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'user' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'email' } },
                    ],
                  },
                },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'organization' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<MeQuery, MeQueryVariables>;
export const OrganizationsDocument = {
  __meta__: { hash: '865b61692f51b04db252abd940a5066c9dcdc99acf84ded3285f6035bb033620' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'query',
      name: { kind: 'Name', value: 'Organizations' },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'organizations' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'role' } },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'organization' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<OrganizationsQuery, OrganizationsQueryVariables>;
export const CreateConversationDocument = {
  __meta__: { hash: 'c2e11827e497edf910454515a4545e888cb387546ef127aabeeb94f379d81af3' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'CreateConversation' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'title' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'String' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'createConversation' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'title' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'title' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'title' } },
                { kind: 'Field', name: { kind: 'Name', value: 'createdAt' } },
                { kind: 'Field', name: { kind: 'Name', value: 'shared' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<CreateConversationMutation, CreateConversationMutationVariables>;
export const SendMessageDocument = {
  __meta__: { hash: '6746e104b483f845c20f3308147e8ecd9a89c9aeb04e75b31812e987d537681b' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'SendMessage' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'conversationId' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'ID' } } },
        },
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'text' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'String' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'sendMessage' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'conversationId' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'conversationId' } },
              },
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'text' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'text' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'userMessage' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [{ kind: 'Field', name: { kind: 'Name', value: 'id' } }],
                  },
                },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'assistantMessage' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'status' } },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SendMessageMutation, SendMessageMutationVariables>;
export const CancelMessageDocument = {
  __meta__: { hash: '4d724bc1ff0a8ebe693d80bd2dc1c2879a5200710b66b06d4c06269ab9fea44c' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'CancelMessage' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'id' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'ID' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'cancelMessage' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'id' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'id' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Answer' } }],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Answer' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'Message' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'id' } },
          { kind: 'Field', name: { kind: 'Name', value: 'conversationId' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          { kind: 'Field', name: { kind: 'Name', value: 'status' } },
          { kind: 'Field', name: { kind: 'Name', value: 'text' } },
          { kind: 'Field', name: { kind: 'Name', value: 'sql' } },
          { kind: 'Field', name: { kind: 'Name', value: 'errorCode' } },
          { kind: 'Field', name: { kind: 'Name', value: 'createdAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'statusText' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'plan' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'summary' } },
                { kind: 'Field', name: { kind: 'Name', value: 'table' } },
                { kind: 'Field', name: { kind: 'Name', value: 'measure' } },
                { kind: 'Field', name: { kind: 'Name', value: 'filters' } },
                { kind: 'Field', name: { kind: 'Name', value: 'grouping' } },
                { kind: 'Field', name: { kind: 'Name', value: 'json' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'result' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'columns' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'type' } },
                    ],
                  },
                },
                { kind: 'Field', name: { kind: 'Name', value: 'rows' } },
              ],
            },
          },
          { kind: 'Field', name: { kind: 'Name', value: 'chart' } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<CancelMessageMutation, CancelMessageMutationVariables>;
export const MessageDocument = {
  __meta__: { hash: 'df5a73e0455386218144fca17d1ef421a4e982d032cab26860e75af9d53ec664' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'query',
      name: { kind: 'Name', value: 'Message' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'id' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'ID' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'message' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'id' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'id' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Answer' } }],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Answer' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'Message' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'id' } },
          { kind: 'Field', name: { kind: 'Name', value: 'conversationId' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          { kind: 'Field', name: { kind: 'Name', value: 'status' } },
          { kind: 'Field', name: { kind: 'Name', value: 'text' } },
          { kind: 'Field', name: { kind: 'Name', value: 'sql' } },
          { kind: 'Field', name: { kind: 'Name', value: 'errorCode' } },
          { kind: 'Field', name: { kind: 'Name', value: 'createdAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'statusText' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'plan' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'summary' } },
                { kind: 'Field', name: { kind: 'Name', value: 'table' } },
                { kind: 'Field', name: { kind: 'Name', value: 'measure' } },
                { kind: 'Field', name: { kind: 'Name', value: 'filters' } },
                { kind: 'Field', name: { kind: 'Name', value: 'grouping' } },
                { kind: 'Field', name: { kind: 'Name', value: 'json' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'result' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'columns' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'type' } },
                    ],
                  },
                },
                { kind: 'Field', name: { kind: 'Name', value: 'rows' } },
              ],
            },
          },
          { kind: 'Field', name: { kind: 'Name', value: 'chart' } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<MessageQuery, MessageQueryVariables>;
export const MessageEventsDocument = {
  __meta__: { hash: '8761a9af5a230ea1776d1867107038ca37d875a48e6d6126384d028ed46052b5' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'subscription',
      name: { kind: 'Name', value: 'MessageEvents' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'messageId' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'ID' } } },
        },
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'afterSequence' } },
          type: { kind: 'NamedType', name: { kind: 'Name', value: 'Int' } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'messageEvents' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'messageId' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'messageId' } },
              },
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'afterSequence' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'afterSequence' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'messageId' } },
                { kind: 'Field', name: { kind: 'Name', value: 'sequence' } },
                { kind: 'Field', name: { kind: 'Name', value: 'kind' } },
                { kind: 'Field', name: { kind: 'Name', value: 'textDelta' } },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'message' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Answer' } }],
                  },
                },
              ],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Answer' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'Message' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'id' } },
          { kind: 'Field', name: { kind: 'Name', value: 'conversationId' } },
          { kind: 'Field', name: { kind: 'Name', value: 'role' } },
          { kind: 'Field', name: { kind: 'Name', value: 'status' } },
          { kind: 'Field', name: { kind: 'Name', value: 'text' } },
          { kind: 'Field', name: { kind: 'Name', value: 'sql' } },
          { kind: 'Field', name: { kind: 'Name', value: 'errorCode' } },
          { kind: 'Field', name: { kind: 'Name', value: 'createdAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'statusText' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'plan' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'summary' } },
                { kind: 'Field', name: { kind: 'Name', value: 'table' } },
                { kind: 'Field', name: { kind: 'Name', value: 'measure' } },
                { kind: 'Field', name: { kind: 'Name', value: 'filters' } },
                { kind: 'Field', name: { kind: 'Name', value: 'grouping' } },
                { kind: 'Field', name: { kind: 'Name', value: 'json' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'result' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'columns' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'type' } },
                    ],
                  },
                },
                { kind: 'Field', name: { kind: 'Name', value: 'rows' } },
              ],
            },
          },
          { kind: 'Field', name: { kind: 'Name', value: 'chart' } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<MessageEventsSubscription, MessageEventsSubscriptionVariables>;
export const LakeTablesDocument = {
  __meta__: { hash: '5874d5a48780d5c7544757c407e6f6f7b5f309c6aa0b53bc8d6c39c3d12c6289' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'query',
      name: { kind: 'Name', value: 'LakeTables' },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'lakeTables' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                { kind: 'Field', name: { kind: 'Name', value: 'version' } },
                { kind: 'Field', name: { kind: 'Name', value: 'rowCount' } },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'columns' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'type' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'nullable' } },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<LakeTablesQuery, LakeTablesQueryVariables>;
export const LakeTableRowsDocument = {
  __meta__: { hash: '9e3b877ab0f2c70cd11e159094b83e5fd5923fbe4e1989c61b6f9ef955711381' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'query',
      name: { kind: 'Name', value: 'LakeTableRows' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'name' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'String' } } },
        },
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'first' } },
          type: { kind: 'NamedType', name: { kind: 'Name', value: 'Int' } },
        },
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'after' } },
          type: { kind: 'NamedType', name: { kind: 'Name', value: 'String' } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'lakeTable' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'name' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'name' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                { kind: 'Field', name: { kind: 'Name', value: 'version' } },
                { kind: 'Field', name: { kind: 'Name', value: 'rowCount' } },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'columns' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'type' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'nullable' } },
                    ],
                  },
                },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'rows' },
                  arguments: [
                    {
                      kind: 'Argument',
                      name: { kind: 'Name', value: 'first' },
                      value: { kind: 'Variable', name: { kind: 'Name', value: 'first' } },
                    },
                    {
                      kind: 'Argument',
                      name: { kind: 'Name', value: 'after' },
                      value: { kind: 'Variable', name: { kind: 'Name', value: 'after' } },
                    },
                  ],
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'totalCount' } },
                      {
                        kind: 'Field',
                        name: { kind: 'Name', value: 'edges' },
                        selectionSet: {
                          kind: 'SelectionSet',
                          selections: [
                            { kind: 'Field', name: { kind: 'Name', value: 'cursor' } },
                            { kind: 'Field', name: { kind: 'Name', value: 'node' } },
                          ],
                        },
                      },
                      {
                        kind: 'Field',
                        name: { kind: 'Name', value: 'pageInfo' },
                        selectionSet: {
                          kind: 'SelectionSet',
                          selections: [
                            { kind: 'Field', name: { kind: 'Name', value: 'hasNextPage' } },
                            { kind: 'Field', name: { kind: 'Name', value: 'endCursor' } },
                          ],
                        },
                      },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<LakeTableRowsQuery, LakeTableRowsQueryVariables>;
export const CreateUploadDocument = {
  __meta__: { hash: 'ac7310dca0457108c6ebdfe191ce7bcc2d3219d45bb2435254f714b469100ee4' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'CreateUpload' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'input' } },
          type: {
            kind: 'NonNullType',
            type: { kind: 'NamedType', name: { kind: 'Name', value: 'CreateUploadInput' } },
          },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'createUpload' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'input' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'input' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'url' } },
                { kind: 'Field', name: { kind: 'Name', value: 'headers' } },
                { kind: 'Field', name: { kind: 'Name', value: 'expiresAt' } },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'upload' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'table' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'fileName' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'format' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'mode' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'sizeBytes' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'status' } },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<CreateUploadMutation, CreateUploadMutationVariables>;
export const CompleteUploadDocument = {
  __meta__: { hash: '285b4223158e2a848c145941dc148648f9375ca4618f714f2282ef5803594e2e' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'mutation',
      name: { kind: 'Name', value: 'CompleteUpload' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'id' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'ID' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'completeUpload' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'id' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'id' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                { kind: 'Field', name: { kind: 'Name', value: 'status' } },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'error' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'code' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'message' } },
                    ],
                  },
                },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'run' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [
                      { kind: 'Field', name: { kind: 'Name', value: 'id' } },
                      { kind: 'Field', name: { kind: 'Name', value: 'state' } },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<CompleteUploadMutation, CompleteUploadMutationVariables>;
export const PipelineRunDocument = {
  __meta__: { hash: '229e4ad1d97e36bae62a97013513e21093e8f27b64d6e1ffb6a2ec21dc1e8084' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'query',
      name: { kind: 'Name', value: 'PipelineRun' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'id' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'ID' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'pipelineRun' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'id' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'id' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Run' } }],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Run' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'PipelineRun' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'id' } },
          { kind: 'Field', name: { kind: 'Name', value: 'table' } },
          { kind: 'Field', name: { kind: 'Name', value: 'state' } },
          { kind: 'Field', name: { kind: 'Name', value: 'mode' } },
          { kind: 'Field', name: { kind: 'Name', value: 'reason' } },
          { kind: 'Field', name: { kind: 'Name', value: 'createdAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'startedAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'endedAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'deltaVersion' } },
          { kind: 'Field', name: { kind: 'Name', value: 'waitingReason' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'tasks' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                { kind: 'Field', name: { kind: 'Name', value: 'state' } },
                { kind: 'Field', name: { kind: 'Name', value: 'tries' } },
                { kind: 'Field', name: { kind: 'Name', value: 'durationMs' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'quality' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'rowsRead' } },
                { kind: 'Field', name: { kind: 'Name', value: 'rowsWritten' } },
                { kind: 'Field', name: { kind: 'Name', value: 'rowsRejected' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'error' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'code' } },
                { kind: 'Field', name: { kind: 'Name', value: 'message' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<PipelineRunQuery, PipelineRunQueryVariables>;
export const PipelineRunEventsDocument = {
  __meta__: { hash: '248847bdaf2ce19b35c9abab3659b347ba8e920072a43cea74400a862850466a' },
  kind: 'Document',
  definitions: [
    {
      kind: 'OperationDefinition',
      operation: 'subscription',
      name: { kind: 'Name', value: 'PipelineRunEvents' },
      variableDefinitions: [
        {
          kind: 'VariableDefinition',
          variable: { kind: 'Variable', name: { kind: 'Name', value: 'runId' } },
          type: { kind: 'NonNullType', type: { kind: 'NamedType', name: { kind: 'Name', value: 'ID' } } },
        },
      ],
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'pipelineRunEvents' },
            arguments: [
              {
                kind: 'Argument',
                name: { kind: 'Name', value: 'runId' },
                value: { kind: 'Variable', name: { kind: 'Name', value: 'runId' } },
              },
            ],
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'sequence' } },
                {
                  kind: 'Field',
                  name: { kind: 'Name', value: 'run' },
                  selectionSet: {
                    kind: 'SelectionSet',
                    selections: [{ kind: 'FragmentSpread', name: { kind: 'Name', value: 'Run' } }],
                  },
                },
              ],
            },
          },
        ],
      },
    },
    {
      kind: 'FragmentDefinition',
      name: { kind: 'Name', value: 'Run' },
      typeCondition: { kind: 'NamedType', name: { kind: 'Name', value: 'PipelineRun' } },
      selectionSet: {
        kind: 'SelectionSet',
        selections: [
          { kind: 'Field', name: { kind: 'Name', value: 'id' } },
          { kind: 'Field', name: { kind: 'Name', value: 'table' } },
          { kind: 'Field', name: { kind: 'Name', value: 'state' } },
          { kind: 'Field', name: { kind: 'Name', value: 'mode' } },
          { kind: 'Field', name: { kind: 'Name', value: 'reason' } },
          { kind: 'Field', name: { kind: 'Name', value: 'createdAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'startedAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'endedAt' } },
          { kind: 'Field', name: { kind: 'Name', value: 'deltaVersion' } },
          { kind: 'Field', name: { kind: 'Name', value: 'waitingReason' } },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'tasks' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'name' } },
                { kind: 'Field', name: { kind: 'Name', value: 'state' } },
                { kind: 'Field', name: { kind: 'Name', value: 'tries' } },
                { kind: 'Field', name: { kind: 'Name', value: 'durationMs' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'quality' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'rowsRead' } },
                { kind: 'Field', name: { kind: 'Name', value: 'rowsWritten' } },
                { kind: 'Field', name: { kind: 'Name', value: 'rowsRejected' } },
              ],
            },
          },
          {
            kind: 'Field',
            name: { kind: 'Name', value: 'error' },
            selectionSet: {
              kind: 'SelectionSet',
              selections: [
                { kind: 'Field', name: { kind: 'Name', value: 'code' } },
                { kind: 'Field', name: { kind: 'Name', value: 'message' } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<PipelineRunEventsSubscription, PipelineRunEventsSubscriptionVariables>;
