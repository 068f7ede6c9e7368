/**
 * JSON values as DataPilot's `JSON` and `JSONObject` scalars carry them (RFC 8259), and the shapes the schema's
 * descriptions give the fields the SDK reads.
 */

/** Any JSON value (the `JSON` scalar). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (the `JSONObject` scalar: a lake row, upload headers). */
export type JsonObject = { [key: string]: JsonValue };

/**
 * One cell of a lake row or of a result table (`LakeRowEdge.node`, `MessageResult.rows`): numbers (64-bit integers
 * beyond 2^53 as strings, decimals as numbers), strings, booleans, null, DATE as `YYYY-MM-DD`, TIMESTAMP as ISO 8601
 * UTC, binary as base64, arrays and structs as JSON arrays and objects.
 */
export type LakeValue = JsonValue;

/** A lake table's row (`LakeRowEdge.node`): an object keyed by column name. */
export type LakeRow = { [column: string]: LakeValue };

/** A result table's rows (`MessageResult.rows`): one array of cells per row, in `columns` order. */
export type ResultRows = LakeValue[][];

/** The headers a presigned upload's PUT must carry (`UploadTicket.headers`): name → value. */
export type UploadHeaders = { [name: string]: string };
