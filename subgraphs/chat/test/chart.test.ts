/**
 * chartSpec (analyst/chart.ts): every spec it produces is checked against the Vega-Lite v5 JSON schema shipped by
 * the `vega-lite` package (build/vega-lite-schema.json) with ajv, compiled by Vega-Lite itself, and its encodings,
 * titles and data are asserted by hand. The results fed in are computed here from the vega-datasets source files
 * (seattle-weather.csv, penguins.json), as the lake would return them for the plan.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { compile, type TopLevelSpec } from 'vega-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHART_POINTS, VEGA_LITE_SCHEMA, chartSpec, measureTitle } from '../src/analyst/chart.ts';
import { DAY_NAMES, MONTH_NAMES, type QueryPlan, type TimePart } from '../src/analyst/query-plan.ts';
import type { LakeResult } from '../src/analyst/types.ts';

const VEGA_DATA = fileURLToPath(new URL('../../../node_modules/vega-datasets/data/', import.meta.url));

/** seattle-weather.csv as records: date (YYYY-MM-DD), temp_max, precipitation (numbers), weather. */
const WEATHER = (() => {
  const [header, ...lines] = readFileSync(`${VEGA_DATA}seattle-weather.csv`, 'utf8').trim().split(/\r?\n/);
  const keys = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i]!, v]))) as Record<string, string>[];
})();
/** penguins.json: Species, Island, ... */
const PENGUINS = JSON.parse(readFileSync(`${VEGA_DATA}penguins.json`, 'utf8')) as Record<string, unknown>[];

let validate: ValidateFunction;
beforeAll(() => {
  const schemaPath = createRequire(import.meta.url).resolve('vega-lite/build/vega-lite-schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  // The schema is draft-07 and uses a few keywords ajv does not know (strict off); every other check is on. Its two
  // string formats (the `$schema` URL, a data URL) are checked as URLs.
  const ajv = new Ajv({ strict: false, allErrors: true });
  const isUrl = (s: string) => URL.canParse(s, 'https://example.com/');
  ajv.addFormat('uri', isUrl).addFormat('uri-reference', isUrl);
  validate = ajv.compile(schema);
});

/** Asserts `spec` is a valid Vega-Lite v5 spec (JSON schema, then Vega-Lite's own compiler) and returns it typed. */
function valid(spec: Record<string, unknown> | null): any {
  expect(spec).not.toBeNull();
  const ok = validate(spec);
  expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
  expect(ok).toBe(true);
  const warnings: unknown[] = [];
  const logger = {
    level: () => logger,
    error: (...a: unknown[]) => (warnings.push(a), logger),
    warn: (...a: unknown[]) => (warnings.push(a), logger),
    info: () => logger,
    debug: () => logger,
  };
  const vega = compile(spec as unknown as TopLevelSpec, { logger: logger as never }).spec;
  expect(vega.marks?.length).toBeGreaterThan(0);
  // Vega-Lite compiles it without a warning (an ignored channel, a type it had to change, ...).
  expect(warnings).toEqual([]);
  // JSON only: what PostgreSQL stores and GraphQL sends is exactly the spec.
  expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  return spec;
}

const plan = (p: Partial<QueryPlan>): QueryPlan => ({
  table: 'seattle_weather',
  joins: [],
  aggregate: 'COUNT',
  measure: null,
  percentile: null,
  metric: null,
  group: null,
  filters: [],
  order: 'DESC',
  limit: null,
  ...p,
});
const weatherCol = (column: string) => ({ table: 'seattle_weather', column });
const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** Average temp_max of seattle-weather by `key(row)`, as [key, average] in ascending key order. */
function averageBy(key: (r: Record<string, string>) => number | string): [number | string, number][] {
  const sums = new Map<number | string, [number, number]>();
  for (const r of WEATHER) {
    const k = key(r);
    const [s, n] = sums.get(k) ?? [0, 0];
    sums.set(k, [s + Number(r.temp_max), n + 1]);
  }
  return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, [s, n]]) => [k, round(s / n)]);
}

describe('chartSpec', () => {
  it('average temp_max by month: a line in calendar order, months labelled, readable titles, the rows inline', () => {
    const monthly = averageBy((r) => Number(r.date!.slice(5, 7)));
    expect(monthly.map(([m]) => m)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // As the SQL orders it (by month number), labelled by name; shuffled here: the chart's order must not depend on it.
    const rows = monthly.map(([m, avg]) => [MONTH_NAMES[(m as number) - 1], avg]).reverse();
    const result: LakeResult = {
      columns: [
        { name: 'month', type: 'string' },
        { name: 'avg_temp_max', type: 'double' },
      ],
      rows,
    };
    const p = plan({
      aggregate: 'AVG',
      measure: weatherCol('temp_max'),
      group: { column: weatherCol('date'), timePart: 'MONTH' },
    });
    const spec = valid(chartSpec(p, result));
    expect(spec.$schema).toBe(VEGA_LITE_SCHEMA);
    expect(spec.$schema).toBe('https://vega.github.io/schema/vega-lite/v5.json');
    expect(spec.title).toBe('Average temp max by month');
    expect(spec.mark).toEqual({ type: 'line', point: true });
    expect(spec.encoding.x).toEqual({
      field: 'month',
      title: 'Month',
      type: 'ordinal',
      sort: [
        'January',
        'February',
        'March',
        'April',
        'May',
        'June',
        'July',
        'August',
        'September',
        'October',
        'November',
        'December',
      ],
    });
    expect(spec.encoding.y).toEqual({ field: 'avg_temp_max', type: 'quantitative', title: 'Average temp max' });
    expect(spec.encoding.tooltip.map((t: { title: string }) => t.title)).toEqual(['Month', 'Average temp max']);
    // The data: one object per result row, keyed by column name, values as computed from the CSV.
    expect(spec.data.values).toHaveLength(12);
    expect(spec.data.values).toEqual(rows.map(([month, avg]) => ({ month, avg_temp_max: avg })));
    // Seattle's July is warmer than its January (from the file, not from the code under test).
    const july = spec.data.values.find((v: { month: string }) => v.month === 'July').avg_temp_max;
    const january = spec.data.values.find((v: { month: string }) => v.month === 'January').avg_temp_max;
    expect(july).toBe(monthly[6]![1]);
    expect(july).toBeGreaterThan(january + 10);
  });

  it('rows per species: horizontal bars in the order of the result (ranked), "Number of rows"', () => {
    const counts = new Map<string, number>();
    for (const r of PENGUINS) counts.set(String(r.Species), (counts.get(String(r.Species)) ?? 0) + 1);
    const rows = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    expect(rows).toEqual([
      ['Adelie', 152],
      ['Gentoo', 124],
      ['Chinstrap', 68],
    ]);
    const p = plan({ table: 'penguins', group: { column: { table: 'penguins', column: 'species' }, timePart: null } });
    const spec = valid(
      chartSpec(p, {
        columns: [
          { name: 'species', type: 'string' },
          { name: 'row_count', type: 'bigint' },
        ],
        rows,
      }),
    );
    expect(spec.title).toBe('Number of rows by species');
    expect(spec.mark).toEqual({ type: 'bar' });
    expect(spec.encoding.y).toEqual({ field: 'species', type: 'nominal', title: 'Species', sort: null });
    expect(spec.encoding.x).toEqual({ field: 'row_count', type: 'quantitative', title: 'Number of rows' });
    expect(spec.data.values).toEqual([
      { species: 'Adelie', row_count: 152 },
      { species: 'Gentoo', row_count: 124 },
      { species: 'Chinstrap', row_count: 68 },
    ]);
  });

  it('years: ordinal in ascending order, a line for the whole series and bars for a top-N', () => {
    const yearly = averageBy((r) => Number(r.date!.slice(0, 4)));
    expect(yearly.map(([y]) => y)).toEqual([2012, 2013, 2014, 2015]);
    const result: LakeResult = {
      columns: [
        { name: 'year', type: 'int' },
        { name: 'sum_precipitation', type: 'double' },
      ],
      rows: yearly,
    };
    const p = plan({
      aggregate: 'SUM',
      measure: weatherCol('precipitation'),
      group: { column: weatherCol('date'), timePart: 'YEAR' },
    });
    const line = valid(chartSpec(p, result));
    expect(line.mark).toEqual({ type: 'line', point: true });
    expect(line.encoding.x).toEqual({ field: 'year', title: 'Year', type: 'ordinal', sort: 'ascending' });
    expect(line.encoding.y.title).toBe('Total precipitation');
    expect(line.title).toBe('Total precipitation by year');
    // The top 2 years, ranked: still in calendar order on the axis, as bars (not a line over a gap).
    const top = valid(chartSpec({ ...p, limit: 2 }, { ...result, rows: [yearly[3]!, yearly[1]!] }));
    expect(top.mark).toEqual({ type: 'bar' });
    expect(top.encoding.x.sort).toBe('ascending');
    expect(top.data.values.map((v: { year: number }) => v.year)).toEqual([2015, 2013]);
  });

  it('days of the week: sorted Sunday..Saturday; dates and year-months temporal in UTC', () => {
    const byDay = averageBy((r) => new Date(`${r.date}T00:00:00Z`).getUTCDay());
    const rows = byDay.map(([d, avg]) => [DAY_NAMES[d as number], avg]);
    const days = valid(
      chartSpec(
        plan({
          aggregate: 'AVG',
          measure: weatherCol('temp_max'),
          group: { column: weatherCol('date'), timePart: 'DAY_OF_WEEK' },
        }),
        {
          columns: [
            { name: 'day_of_week', type: 'string' },
            { name: 'avg_temp_max', type: 'double' },
          ],
          rows,
        },
      ),
    );
    expect(days.encoding.x).toMatchObject({ field: 'day_of_week', title: 'Day of week', type: 'ordinal' });
    expect(days.encoding.x.sort).toEqual([
      'Sunday',
      'Monday',
      'Tuesday',
      'Wednesday',
      'Thursday',
      'Friday',
      'Saturday',
    ]);

    const monthRows = averageBy((r) => r.date!.slice(0, 7));
    expect(monthRows).toHaveLength(48);
    const ym = valid(
      chartSpec(
        plan({
          aggregate: 'MAX',
          measure: weatherCol('temp_max'),
          group: { column: weatherCol('date'), timePart: 'YEAR_MONTH' },
        }),
        {
          columns: [
            { name: 'year_month', type: 'string' },
            { name: 'max_temp_max', type: 'double' },
          ],
          rows: monthRows,
        },
      ),
    );
    expect(ym.encoding.x).toMatchObject({ field: 'year_month', type: 'temporal', timeUnit: 'utcyearmonth' });
    expect(ym.encoding.y.title).toBe('Maximum temp max');
    expect(ym.data.values[0]).toEqual({ year_month: '2012-01', max_temp_max: monthRows[0]![1] });

    const daily = WEATHER.slice(0, 31).map((r) => [r.date, Number(r.temp_max)]);
    const dates = valid(
      chartSpec(
        plan({
          aggregate: 'MIN',
          measure: weatherCol('temp_max'),
          group: { column: weatherCol('date'), timePart: 'DATE' },
        }),
        {
          columns: [
            { name: 'date', type: 'date' },
            { name: 'min_temp_max', type: 'double' },
          ],
          rows: daily,
        },
      ),
    );
    expect(dates.encoding.x).toMatchObject({
      field: 'date',
      type: 'temporal',
      timeUnit: 'utcyearmonthdate',
      title: 'Date',
    });
    expect(dates.data.values[0]).toEqual({ date: '2012-01-01', min_temp_max: 12.8 });
  });

  it('the schema check is not vacuous: a wrong mark, channel type or sort fails it', () => {
    const spec = chartSpec(plan({ group: { column: weatherCol('weather'), timePart: null } }), {
      columns: [
        { name: 'weather', type: 'string' },
        { name: 'row_count', type: 'bigint' },
      ],
      rows: [['sun', 714]],
    })!;
    expect(validate(spec)).toBe(true);
    expect(validate({ ...spec, mark: 'lines' })).toBe(false);
    const encoding = spec.encoding as Record<string, Record<string, unknown>>;
    expect(validate({ ...spec, encoding: { ...encoding, x: { ...encoding.x, type: 'number' } } })).toBe(false);
    expect(validate({ ...spec, encoding: { ...encoding, y: { ...encoding.y, sort: 7 } } })).toBe(false);
    expect(validate({ ...spec, data: { values: 5 } })).toBe(false);
  });

  it('quarters, percentiles and distinct counts get readable titles', () => {
    const spec = valid(
      chartSpec(
        plan({
          aggregate: 'PERCENTILE',
          percentile: 0.9,
          measure: weatherCol('wind'),
          group: { column: weatherCol('date'), timePart: 'QUARTER' },
        }),
        {
          columns: [
            { name: 'quarter', type: 'int' },
            { name: 'p90_wind', type: 'double' },
          ],
          rows: [
            [1, 5.2],
            [2, 4.4],
            [3, 3.9],
            [4, 5.6],
          ],
        },
      ),
    );
    expect(spec.encoding.x).toMatchObject({ field: 'quarter', type: 'ordinal', title: 'Quarter' });
    expect(spec.encoding.y.title).toBe('90th percentile of wind');
    expect(measureTitle(plan({ aggregate: 'COUNT_DISTINCT', measure: { table: 'stocks', column: 'symbol' } }))).toBe(
      'Number of distinct symbol',
    );
    expect(measureTitle(plan({ aggregate: 'MEDIAN', measure: { table: 'cars', column: 'horsepower' } }))).toBe(
      'Median horsepower',
    );
    expect(measureTitle(plan({ aggregate: 'PERCENTILE', percentile: 0.5, measure: weatherCol('wind') }))).toBe(
      '50th percentile of wind',
    );
    expect(measureTitle(plan({ aggregate: 'PERCENTILE', percentile: 0.01, measure: weatherCol('wind') }))).toBe(
      '1st percentile of wind',
    );
  });

  it('a date aggregate per category is drawn as points on a UTC time axis; big integers as text become numbers', () => {
    const p = plan({
      table: 'stocks',
      aggregate: 'MAX',
      measure: { table: 'stocks', column: 'date' },
      group: { column: { table: 'stocks', column: 'symbol' }, timePart: null },
    });
    const spec = valid(
      chartSpec(p, {
        columns: [
          { name: 'symbol', type: 'string' },
          { name: 'max_date', type: 'date' },
        ],
        rows: [
          ['AAPL', '2010-03-01'],
          ['MSFT', '2010-03-01'],
        ],
      }),
    );
    expect(spec.mark).toEqual({ type: 'point', filled: true });
    expect(spec.encoding.x).toEqual({
      field: 'max_date',
      type: 'temporal',
      title: 'Maximum date',
      scale: { type: 'utc' },
    });

    const big = valid(
      chartSpec(plan({ table: 'events', group: { column: { table: 'events', column: 'kind' }, timePart: null } }), {
        columns: [
          { name: 'kind', type: 'string' },
          { name: 'row_count', type: 'bigint' },
        ],
        rows: [['a', '9007199254740993']],
      }),
    );
    expect(big.data.values).toEqual([{ kind: 'a', row_count: 9007199254740992 }]);
  });

  it('at most 1000 points; no chart for one number, a list of values, an empty result or a text aggregate', () => {
    const p = plan({ table: 'flights', group: { column: { table: 'flights', column: 'origin' }, timePart: null } });
    const columns = [
      { name: 'origin', type: 'string' },
      { name: 'row_count', type: 'bigint' },
    ];
    const many = valid(chartSpec(p, { columns, rows: Array.from({ length: 1500 }, (_, i) => [`A${i}`, 1500 - i]) }));
    expect(many.data.values).toHaveLength(MAX_CHART_POINTS);
    expect(many.data.values.at(-1)).toEqual({ origin: 'A999', row_count: 501 });

    expect(chartSpec(plan({}), { columns: [{ name: 'row_count', type: 'bigint' }], rows: [[1461]] })).toBeNull();
    expect(
      chartSpec(
        plan({
          aggregate: 'VALUES',
          measure: weatherCol('temp_max'),
          filters: [{ column: weatherCol('date'), timePart: 'DATE', op: '=', values: ['2012-01-01'] }],
        }),
        { columns: [{ name: 'temp_max', type: 'double' }], rows: [[12.8]] },
      ),
    ).toBeNull();
    expect(chartSpec(p, { columns, rows: [] })).toBeNull();
    const minName = plan({
      table: 'cars',
      aggregate: 'MIN',
      measure: { table: 'cars', column: 'name' },
      group: { column: { table: 'cars', column: 'origin' }, timePart: null },
    });
    const text = {
      columns: [
        { name: 'origin', type: 'string' },
        { name: 'min_name', type: 'string' },
      ],
      rows: [['USA', 'amc ambassador brougham']],
    };
    expect(chartSpec(minName, text)).toBeNull();
    // A result that is not the plan's (no label column): nothing rather than a wrong chart.
    expect(chartSpec(p, { columns: [{ name: 'dest', type: 'string' }, columns[1]!], rows: [['X', 1]] })).toBeNull();
  });

  it('a group column of type date without a time part is charted on a time axis', () => {
    const part: TimePart | null = null;
    const spec = valid(
      chartSpec(
        plan({ aggregate: 'AVG', measure: weatherCol('wind'), group: { column: weatherCol('date'), timePart: part } }),
        {
          columns: [
            { name: 'date', type: 'date' },
            { name: 'avg_wind', type: 'double' },
          ],
          rows: [
            ['2012-01-01', 4.7],
            ['2012-01-02', 4.5],
          ],
        },
      ),
    );
    expect(spec.encoding.x).toMatchObject({ field: 'date', type: 'temporal', title: 'Date' });
    expect(spec.mark).toEqual({ type: 'line', point: true });
  });
});
