/**
 * The demo organization's tables as the analyst's unit tests see them: names and columns as the spark-apps
 * normalise the vega-datasets 3.2.1 files (snake_case), and the distinct values of every string column read from
 * those source files (node_modules/vega-datasets/data), so no lake is needed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { buildCatalog } from '../../src/analyst/catalog.ts';
import type { SemanticDataset, SemanticLayer } from '../../src/analyst/semantic.ts';
import { DEMO_SEMANTICS } from '../../../../scripts/lib/demo-semantics.ts';
import type { Catalog, LakeTable } from '../../src/analyst/types.ts';

/** node_modules/vega-datasets/data of the repository root (the package's exports hide its files from resolution). */
export const VEGA_DATA_DIR = fileURLToPath(new URL('../../../../node_modules/vega-datasets/data/', import.meta.url));

/** The fields of one CSV line (RFC 4180 quoting: `"a, b"` is one field, `""` inside quotes is a quote). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/** Reads a vega-datasets file as records with snake_case keys ("Beak Length (mm)" → beak_length_mm). */
export function readDemoFile(file: string): Record<string, unknown>[] {
  const text = readFileSync(path.join(VEGA_DATA_DIR, file), 'utf8');
  const snake = (k: string) =>
    k
      .trim()
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '');
  let records: Record<string, unknown>[];
  if (file.endsWith('.json')) records = JSON.parse(text);
  else {
    const [header, ...lines] = text.trim().split(/\r?\n/);
    const keys = csvFields(header!);
    records = lines.map((l) => Object.fromEntries(csvFields(l).map((v, i) => [keys[i]!, v])));
  }
  return records.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [snake(k), v])));
}

const s = 'string';
const d = 'double';
const b = 'bigint';
/** Table → [file, columns (name, type)]. */
export const DEMO_TABLES: Record<string, [string, [string, string][]]> = {
  seattle_weather: [
    'seattle-weather.csv',
    [
      ['date', 'date'],
      ['precipitation', d],
      ['temp_max', d],
      ['temp_min', d],
      ['wind', d],
      ['weather', s],
    ],
  ],
  stocks: [
    'stocks.csv',
    [
      ['symbol', s],
      ['date', 'date'],
      ['price', d],
    ],
  ],
  cars: [
    'cars.json',
    [
      ['name', s],
      ['miles_per_gallon', d],
      ['cylinders', b],
      ['displacement', d],
      ['horsepower', b],
      ['weight_in_lbs', b],
      ['acceleration', d],
      ['year', 'date'],
      ['origin', s],
    ],
  ],
  penguins: [
    'penguins.json',
    [
      ['species', s],
      ['island', s],
      ['beak_length_mm', d],
      ['beak_depth_mm', d],
      ['flipper_length_mm', b],
      ['body_mass_g', b],
      ['sex', s],
    ],
  ],
  flights: [
    'flights-20k.json',
    [
      ['date', 'timestamp'],
      ['delay', b],
      ['distance', b],
      ['origin', s],
      ['destination', s],
    ],
  ],
  airports: [
    'airports.csv',
    [
      ['iata', s],
      ['name', s],
      ['city', s],
      ['state', s],
      ['country', s],
      ['latitude', d],
      ['longitude', d],
    ],
  ],
  gapminder: [
    'gapminder.json',
    [
      ['year', b],
      ['country', s],
      ['cluster', b],
      ['pop', b],
      ['life_expect', d],
      ['fertility', d],
    ],
  ],
  unemployment_across_industries: [
    'unemployment-across-industries.json',
    [
      ['series', s],
      ['year', b],
      ['month', b],
      ['count', b],
      ['rate', d],
      ['date', 'timestamp'],
    ],
  ],
};

/** The demo tables as `listTables()` would list them (version 1). */
export const demoTables = (): LakeTable[] =>
  Object.entries(DEMO_TABLES).map(([name, [, cols]]) => ({
    name,
    version: 1,
    columns: cols.map(([n, type]) => ({ name: n, type, nullable: true })),
  }));

/** A few US states by name (the profile's reference table holds all of them; these are enough for the tests). */
const STATES: Record<string, string> = { TX: 'Texas', CA: 'California', AK: 'Alaska', ME: 'Maine', IL: 'Illinois' };

/**
 * The demo organization's semantic layer as the unit tests use it: each column profiled from the source file the way
 * the pipeline's profile step does (semantic type, distinct values, min/max, keys), the demo administrator's edits
 * (scripts/lib/demo-semantics.ts), state-name aliases, and the references flights.origin/destination → airports.iata.
 */
export function demoSemanticLayer(): SemanticLayer {
  const datasets: SemanticDataset[] = Object.entries(DEMO_TABLES).map(([name, [file, cols]]) => {
    const records = readDemoFile(file);
    const edits = DEMO_SEMANTICS[name];
    return {
      name,
      description: edits?.description ?? null,
      deltaVersion: 1,
      metrics: [],
      columns: cols.map(([col, type]) => {
        const raw = records.map((r) => r[col]).filter((v) => v !== null && v !== undefined && v !== '');
        const counts = new Map<string, number>();
        for (const v of raw) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
        const distinct = [...counts.keys()];
        const numeric = type !== s && type !== 'date' && type !== 'timestamp';
        const nums = numeric ? raw.map(Number).filter((n) => Number.isFinite(n)) : [];
        const temporal = type === 'date' || type === 'timestamp';
        const isKey = raw.length === records.length && distinct.length === records.length;
        const isState =
          type === s &&
          distinct.length > 0 &&
          distinct.filter((v) => /^[A-Z]{2}$/.test(v)).length / distinct.length > 0.95 &&
          col === 'state';
        const semanticType =
          temporal || (numeric && /^(year|month)$/.test(col))
            ? 'TIME'
            : numeric
              ? 'MEASURE'
              : isState
                ? 'GEO_CODE'
                : distinct.length > 50 && distinct.length / records.length >= 0.5
                  ? 'IDENTIFIER'
                  : 'CATEGORY';
        const edit = edits?.columns[col] ?? {};
        const dates = temporal ? raw.map((v) => new Date(String(v)).toISOString().slice(0, 10)).sort() : [];
        return {
          name: col,
          description: edit.description ?? null,
          semanticType,
          unit: edit.unit ?? null,
          synonyms: edit.synonyms ?? [],
          values: type === s ? [...distinct].sort((a, b) => counts.get(b)! - counts.get(a)!) : [],
          valuesComplete: type === s,
          aliases: isState ? distinct.filter((v) => STATES[v]).map((v) => ({ name: STATES[v]!, value: v })) : [],
          min: numeric ? String(Math.min(...nums)) : temporal ? dates[0]! : null,
          max: numeric ? String(Math.max(...nums)) : temporal ? dates.at(-1)! : null,
          isKey,
          distinctCount: distinct.length,
        };
      }),
    };
  });
  const ref = (column: string) => ({
    from: { table: 'flights', column },
    to: { table: 'airports', column: 'iata' },
    cardinality: 'MANY_TO_ONE' as const,
  });
  return { datasets, relationships: [ref('origin'), ref('destination')] };
}

/** The demo catalog: the demo tables with their {@link demoSemanticLayer}. */
export function demoCatalog(): Catalog {
  return buildCatalog(demoTables(), demoSemanticLayer());
}
