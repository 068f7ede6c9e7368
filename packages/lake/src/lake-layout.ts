/**
 * The lake's layout on the object store, one place for every key and URI rule (issue 5):
 * - raw uploads (bronze): `bronze/org=<org id>/<table>/<upload id>/<file>`
 * - Delta tables (gold):  `gold/org=<org id>/<table>/` (with its `_delta_log/`)
 * Spark sees the same objects as `s3a://<bucket>/<key>`. Only validated org ids, table names, upload ids and file
 * names reach a key, so a key never leaves the org's own prefix and can be put in a Spark SQL string literal as is.
 */

/** Organization ids are lower-case UUIDs (the `org` claim of the access token). */
export const ORG_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Lake table names: lower-case, start with a letter, at most 63 characters. */
export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
/**
 * Bucket names as S3 allows them for path-style access (AWS "Bucket naming rules"): 3-63 characters of lower-case
 * letters, digits, dots and hyphens, starting and ending with a letter or digit. Such a name is also safe inside a
 * single-quoted Spark SQL literal.
 */
export const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/**
 * Stored file names of uploads: 1-100 characters of letters, digits, `.`, `_` and `-`, starting with a letter, digit
 * or `-`: Hadoop treats files whose names start with `_` or `.` as hidden and Spark reads nothing from them, even
 * by exact path. No path separators, no glob or URI metacharacters (`*?[]{}\:`), nothing that needs quoting.
 */
export const FILE_NAME_PATTERN = /^[A-Za-z0-9-][A-Za-z0-9._-]{0,99}$/;

/** True when `name` is a valid lake table name ({@link TABLE_NAME_PATTERN}). */
export const isTableName = (name: string): boolean => TABLE_NAME_PATTERN.test(name);

const checkOrg = (orgId: string) => {
  if (!ORG_ID_PATTERN.test(orgId)) throw new Error('invalid org id');
};
const checkTable = (table: string) => {
  if (!isTableName(table)) throw new Error('invalid table name');
};

/**
 * Checks a bucket name against {@link BUCKET_NAME_PATTERN}.
 * @throws Error naming the rule (configuration, checked at start).
 */
export function checkBucketName(bucket: string): string {
  if (!BUCKET_NAME_PATTERN.test(bucket) || bucket.includes('..'))
    throw new Error(
      `LAKE_BUCKET must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit; ` +
        `got ${JSON.stringify(bucket)}`,
    );
  return bucket;
}

/** `gold/org=<orgId>/`: the key prefix of an org's gold Delta tables. @throws Error for a malformed org id. */
export function goldOrgPrefix(orgId: string): string {
  checkOrg(orgId);
  return `gold/org=${orgId}/`;
}

/** `gold/org=<orgId>/<table>/`: the key prefix of one Delta table. @throws Error for a malformed org or table. */
export function goldTablePrefix(orgId: string, table: string): string {
  checkTable(table);
  return `${goldOrgPrefix(orgId)}${table}/`;
}

/** `bronze/org=<orgId>/<table>/`: the key prefix of a table's raw uploads. @throws Error for a malformed org or table. */
export function bronzeTablePrefix(orgId: string, table: string): string {
  checkOrg(orgId);
  checkTable(table);
  return `bronze/org=${orgId}/${table}/`;
}

/**
 * `bronze/org=<orgId>/<table>/<uploadId>/<fileName>`: where an upload's raw file is stored.
 * @throws Error when any part breaks its rule (the caller validates user input first and answers BAD_USER_INPUT).
 */
export function bronzeKey(orgId: string, table: string, uploadId: string, fileName: string): string {
  if (!ORG_ID_PATTERN.test(uploadId)) throw new Error('invalid upload id');
  if (!FILE_NAME_PATTERN.test(fileName)) throw new Error('invalid file name');
  return `${bronzeTablePrefix(orgId, table)}${uploadId}/${fileName}`;
}

/**
 * Where the client's presigned PUT lands: `<upload folder>/.incoming/<file>` beside the upload's key. `completeUpload`
 * copies it to the upload's key and deletes it, so the file the pipeline reads cannot be changed afterwards through
 * the (still valid) presigned URL. Spark and Hadoop ignore `.`-prefixed folders.
 * @throws Error when `objectKey` is not a bronze upload key.
 */
export function incomingKey(objectKey: string): string {
  const m = /^(bronze\/org=[^/]+\/[^/]+\/[^/]+\/)([^/]+)$/.exec(objectKey);
  if (!m) throw new Error('not a bronze upload key');
  return `${m[1]}.incoming/${m[2]}`;
}

/** `s3a://<bucket>/<key>`: how Spark (Hadoop S3A) names an object or prefix. */
export function s3aUri(bucket: string, key: string): string {
  return `s3a://${checkBucketName(bucket)}/${key.replace(/\/+$/, '')}`;
}
