import { ABBREVIATIONS, GRAMMAR_ONLY, STOPWORDS, CUES, UNIT_SUFFIXES, lemma } from './lexicon.ts';
import type { SemanticLayer } from './semantic.ts';
import type { Catalog, CatalogColumn, CatalogRelationship, ColumnKind, LakeTable } from './types.ts';

/** Classifies a lake type name (Spark's `double`, `bigint`, `decimal(10,2)`, `timestamp_ntz`, ...; any case). */
export function columnKind(type: string): ColumnKind {
  const t = type.toLowerCase();
  if (/^(tinyint|smallint|int|integer|bigint|long|short|byte|float|double|real|decimal|numeric)\b/.test(t))
    return 'number';
  if (/^(date|timestamp)/.test(t)) return 'temporal';
  if (/^(string|varchar|char|text)\b/.test(t)) return 'string';
  return 'other';
}

/**
 * Builds the catalog: the tables the lake lists NOW (the only tables and columns a plan may use), each column
 * enriched with what the semantic layer stores for it (matched by table and column name; a table not profiled yet
 * has its lake columns only), the layer's metrics, and its relationships between listed tables and columns.
 */
export function buildCatalog(
  tables: LakeTable[],
  semantic: SemanticLayer = { datasets: [], relationships: [] },
): Catalog {
  const byName = new Map(semantic.datasets.map((d) => [d.name, d]));
  const catalog: Catalog = {
    tables: tables.map((t) => {
      const ds = byName.get(t.name);
      const cols = new Map((ds?.columns ?? []).map((c) => [c.name, c]));
      return {
        name: t.name,
        version: t.version,
        description: ds?.description ?? null,
        metrics: (ds?.metrics ?? [])
          .filter((m) => m.column === null || t.columns.some((c) => c.name === m.column))
          .map((m) => ({ ...m, table: t.name })),
        columns: t.columns.map((c): CatalogColumn => {
          const s = cols.get(c.name);
          return {
            table: t.name,
            name: c.name,
            type: c.type,
            kind: columnKind(c.type),
            ...(s
              ? {
                  ...(s.values.length || s.valuesComplete
                    ? { values: { values: s.values, complete: s.valuesComplete } }
                    : {}),
                  semanticType: s.semanticType,
                  description: s.description,
                  unit: s.unit,
                  synonyms: s.synonyms,
                  aliases: s.aliases,
                  min: s.min,
                  max: s.max,
                  isKey: s.isKey,
                  distinctCount: s.distinctCount,
                }
              : {}),
          };
        }),
      };
    }),
  };
  const has = (r: { table: string; column: string }) =>
    catalog.tables.some((t) => t.name === r.table && t.columns.some((c) => c.name === r.column));
  catalog.relationships = semantic.relationships.filter(
    (r): r is CatalogRelationship => has(r.from) && has(r.to) && r.from.table !== r.to.table,
  );
  return catalog;
}

const words = (phrase: string) => phrase.split(/[\s]+/).filter(Boolean);
const lemmas = (phrase: string) => words(phrase).map(lemma).join(' ');

/** The words of a phrase with each abbreviation expanded (`temp max` → `temperature maximum`), or null if none. */
function expanded(parts: string[]): string[] | null {
  const out = parts.flatMap((p) => (ABBREVIATIONS[p] ? words(ABBREVIATIONS[p]!) : [p]));
  return out.join(' ') === parts.join(' ') ? null : out;
}

/**
 * The phrases (space-separated lemmas) that name a column: its identifier ("temp_max"), its words ("temp max"), the
 * same with abbreviations expanded ("temperature maximum") and in reverse order for two words ("maximum
 * temperature"), its words without a unit suffix ("body_mass_g" → "body mass", "weight_in_lbs" → "weight"), its
 * expanded abbreviation alone ("mpg" → "miles per gallon"), and the synonyms of the semantic layer. Single grammar
 * words ("count") are never column names.
 */
export function columnTerms(column: { name: string; synonyms?: string[] }): string[] {
  const name = column.name.toLowerCase();
  const parts = name.split('_').filter(Boolean);
  const terms = [name, parts.join(' ')];
  const trimmed = [...parts];
  while (trimmed.length > 1 && UNIT_SUFFIXES.has(trimmed.at(-1)!)) trimmed.pop();
  terms.push(trimmed.join(' '));
  for (const base of [parts, trimmed]) {
    const e = expanded(base);
    for (const variant of e ? [base, e] : [base]) {
      if (variant.length === 2) terms.push(`${variant[1]} ${variant[0]}`);
      terms.push(variant.join(' '));
    }
    // "temp" of temp_max/temp_min alone: the quantity both name (the planner picks one by direction or abstains).
    if (base.length === 2 && (isExtreme(base[1]!) || isExtreme(base[0]!))) {
      const head = isExtreme(base[1]!) ? base[0]! : base[1]!;
      terms.push(head, ...(ABBREVIATIONS[head] ? [ABBREVIATIONS[head]!] : []));
    }
  }
  // And the other way: a column spelled out ("miles_per_gallon", "horsepower") is also named by its abbreviation.
  const spelled = ` ${parts.join(' ')} `;
  for (const [abbr, full] of Object.entries(ABBREVIATIONS))
    if (spelled.includes(` ${full} `)) terms.push(spelled.replace(` ${full} `, ` ${abbr} `).trim());
  terms.push(...(column.synonyms ?? []).map((s) => s.toLowerCase()));
  return [...new Set(terms.map(lemmas))].filter((t) => t && !(words(t).length === 1 && GRAMMAR_ONLY.has(t)));
}

const isExtreme = (w: string) => /^(max|min|maximum|minimum|high|low|hi|lo)$/.test(w);

/**
 * The phrases that name a table: its identifier, its words together, each meaningful word alone
 * ("seattle_weather" → "seattle", "weather").
 */
export function tableTerms(table: { name: string }): string[] {
  const name = table.name.toLowerCase();
  const parts = name.split('_').filter(Boolean);
  const terms = [name, parts.join(' ')];
  for (const p of parts) if (p.length > 2 && !/^\d+$/.test(p) && !STOPWORDS.has(p) && !(p in CUES)) terms.push(p);
  return [...new Set(terms.map(lemmas))];
}

/** The form values are compared in: lower case, runs of anything but letters and digits as one space. */
export function normalizeValue(v: string): string {
  return v
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** A stored value a question may name: `value` as stored, `via` the alias the user said ("Texas" for `TX`). */
export type ValueMatch = { column: CatalogColumn; value: string; via?: string };

/** {@link valueIndex} of each catalog object already indexed (a catalog is not modified once built). */
const VALUE_INDEXES = new WeakMap<Catalog, ReadonlyMap<string, readonly ValueMatch[]>>();

/**
 * Every profiled value and alias of the catalog, by {@link normalizeValue} form (numbers and long texts left out):
 * the stored value itself, and each alias name of a value the column holds. Built once per catalog object (tens of
 * milliseconds for the ~9,000 values of the demo organization, the bulk of planning) and kept as long as the catalog
 * is: catalogs are never modified after {@link buildCatalog} (build a new one instead), and the index is read-only.
 */
export function valueIndex(catalog: Catalog): ReadonlyMap<string, readonly ValueMatch[]> {
  const known = VALUE_INDEXES.get(catalog);
  if (known) return known;
  const index = new Map<string, ValueMatch[]>();
  const add = (key: string, m: ValueMatch) => {
    if (!key || key.length > 60 || /^[\d\s.]+$/.test(key)) return;
    const list = index.get(key) ?? [];
    if (!list.some((x) => x.column === m.column)) list.push(m);
    index.set(key, list);
  };
  for (const t of catalog.tables)
    for (const c of t.columns) {
      for (const value of c.values?.values ?? []) add(normalizeValue(value), { column: c, value });
      for (const a of c.aliases ?? []) add(normalizeValue(a.name), { column: c, value: a.value, via: a.name });
    }
  VALUE_INDEXES.set(catalog, index);
  return index;
}
