/**
 * The demo organization's tables as the analyst's unit tests see them: names and columns as the spark-apps
 * normalise the vega-datasets 3.2.1 files (snake_case), and the distinct values of every string column read from
 * those source files (node_modules/vega-datasets/data), so no lake is needed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { buildCatalog, type TableSamples } from '../../src/analyst/catalog.ts';
import type { Catalog, LakeTable } from '../../src/analyst/types.ts';

/** node_modules/vega-datasets/data of the repository root (the package's exports hide its files from resolution). */
export const VEGA_DATA_DIR = fileURLToPath(new URL('../../../../node_modules/vega-datasets/data/', import.meta.url));

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
    const keys = header!.split(',');
    records = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i]!, v])));
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

/** The demo catalog with every string column's distinct values from the source files. */
export function demoCatalog(): Catalog {
  const samples = new Map<string, TableSamples>();
  for (const [name, [file, cols]] of Object.entries(DEMO_TABLES)) {
    const records = readDemoFile(file);
    const t: TableSamples = new Map();
    for (const [col, type] of cols) {
      if (type !== s) continue;
      const values = [
        ...new Set(records.map((r) => r[col]).filter((v) => v !== null && v !== undefined && v !== '')),
      ].map(String);
      t.set(col, { values, complete: true });
    }
    samples.set(name, t);
  }
  return buildCatalog(demoTables(), samples);
}
