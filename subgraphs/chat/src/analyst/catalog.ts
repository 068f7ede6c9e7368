import { COLUMN_SYNONYMS, CUES, GRAMMAR_ONLY, STOPWORDS, TABLE_SYNONYMS, UNIT_SUFFIXES, lemma } from './lexicon.ts';
import type { Catalog, CatalogColumn, ColumnKind, LakeTable } from './types.ts';

/** Sampled distinct values of the string columns of one table, by column name. */
export type TableSamples = Map<string, { values: string[]; complete: boolean }>;

/** Classifies a lake type name (Spark's `double`, `bigint`, `decimal(10,2)`, `timestamp_ntz`, ...; any case). */
export function columnKind(type: string): ColumnKind {
  const t = type.toLowerCase();
  if (/^(tinyint|smallint|int|integer|bigint|long|short|byte|float|double|real|decimal|numeric)\b/.test(t))
    return 'number';
  if (/^(date|timestamp)/.test(t)) return 'temporal';
  if (/^(string|varchar|char|text)\b/.test(t)) return 'string';
  return 'other';
}

/** Builds the catalog from the lake's table list and the value samples of each table (by table name). */
export function buildCatalog(tables: LakeTable[], samples: Map<string, TableSamples> = new Map()): Catalog {
  return {
    tables: tables.map((t) => ({
      name: t.name,
      columns: t.columns.map((c): CatalogColumn => ({
        table: t.name,
        name: c.name,
        type: c.type,
        kind: columnKind(c.type),
        ...(samples.get(t.name)?.get(c.name) ? { values: samples.get(t.name)!.get(c.name)! } : {}),
      })),
    })),
  };
}

const words = (phrase: string) => phrase.split(/[\s]+/).filter(Boolean);
const lemmas = (phrase: string) => words(phrase).map(lemma).join(' ');

/**
 * The phrases (space-separated lemmas) that name a column: its identifier ("temp_max"), its words ("temp max"),
 * its words without a unit suffix ("body_mass_g" → "body mass", "weight_in_lbs" → "weight") and its synonyms
 * from {@link COLUMN_SYNONYMS}. Single grammar words ("count") are never column names.
 */
export function columnTerms(column: { name: string }): string[] {
  const name = column.name.toLowerCase();
  const parts = name.split('_').filter(Boolean);
  const terms = [name, parts.join(' ')];
  const trimmed = [...parts];
  while (trimmed.length > 1 && UNIT_SUFFIXES.has(trimmed.at(-1)!)) trimmed.pop();
  terms.push(trimmed.join(' '));
  terms.push(...(COLUMN_SYNONYMS[name] ?? []));
  return [...new Set(terms.map(lemmas))].filter((t) => !(words(t).length === 1 && GRAMMAR_ONLY.has(t)));
}

/**
 * The phrases that name a table: its identifier, its words together, each meaningful word alone
 * ("seattle_weather" → "seattle", "weather") and its synonyms from {@link TABLE_SYNONYMS}.
 */
export function tableTerms(table: { name: string }): string[] {
  const name = table.name.toLowerCase();
  const parts = name.split('_').filter(Boolean);
  const terms = [name, parts.join(' ')];
  for (const p of parts) if (p.length > 2 && !/^\d+$/.test(p) && !STOPWORDS.has(p) && !(p in CUES)) terms.push(p);
  terms.push(...(TABLE_SYNONYMS[name] ?? []));
  return [...new Set(terms.map(lemmas))];
}

/** The form values are compared in: lower case, runs of anything but letters and digits as one space. */
export function normalizeValue(v: string): string {
  return v
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Every sampled value of the catalog, by {@link normalizeValue} form (numbers and long texts left out). */
export function valueIndex(catalog: Catalog): Map<string, { column: CatalogColumn; value: string }[]> {
  const index = new Map<string, { column: CatalogColumn; value: string }[]>();
  for (const t of catalog.tables)
    for (const c of t.columns)
      for (const value of c.values?.values ?? []) {
        const key = normalizeValue(value);
        if (!key || key.length > 60 || /^[\d\s.]+$/.test(key)) continue;
        const list = index.get(key) ?? [];
        if (!list.some((m) => m.column === c)) list.push({ column: c, value });
        index.set(key, list);
      }
  return index;
}
