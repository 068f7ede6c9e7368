// Java `.properties` files for the JVM launchers (S3Proxy's `--properties`, Spark's `--properties-file`): the way
// to hand a JVM settings that hold secrets without putting them on its command line, where `ps` shows them.
import { chmod, writeFile } from 'node:fs/promises';

/**
 * Escapes one key or value for a `.properties` file as `java.util.Properties.load` reads it: backslash,
 * line breaks, tab and form feed become escapes, every character outside printable ASCII a `\uXXXX` escape
 * (so the file is plain ASCII, read alike as ISO-8859-1 by S3Proxy and as UTF-8 by Spark); in keys `=`, `:`,
 * `#`, `!` and spaces are escaped too, in values only a leading space.
 */
export function escapeProperty(text: string, isKey: boolean): string {
  let out = text
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\f/g, '\\f')
    .replace(/[^\x20-\x7e\\]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (isKey) out = out.replace(/([=:#! ])/g, '\\$1');
  else out = out.replace(/^ /, '\\ ');
  return out;
}

/** The text of a `.properties` file with one `key=value` line per entry, in the given order. */
export function propertiesText(props: Record<string, string>): string {
  return Object.entries(props)
    .map(([k, v]) => `${escapeProperty(k, true)}=${escapeProperty(v, false)}\n`)
    .join('');
}

/**
 * Writes `props` to `file` (replacing it) readable by the owner only (mode 0600, also when the file existed
 * with a wider mode), since such files carry credentials.
 */
export async function writePropertiesFile(file: string, props: Record<string, string>): Promise<void> {
  await writeFile(file, propertiesText(props), { mode: 0o600 });
  await chmod(file, 0o600);
}
