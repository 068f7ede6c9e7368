/**
 * The analyst with a semantic layer, without I/O: joins along declared relationships, value aliases, calendar
 * parts, superlatives read through column semantics, follow-ups, and the plan validation every plan (deterministic
 * or a model's) passes. The catalog is the demo organization's, profiled from the vega-datasets source files
 * (test/support/demo-catalog.ts); expected plans are written by hand from the questions.
 */
import { describe as suite, expect, it } from 'vitest';
import { planQuestion, planSummary, toSql, validatePlan, type Catalog, type QueryPlan } from '../src/analyst/index.ts';
import { answerPlan } from '../src/resolvers/answer-plan.ts';
import { demoCatalog } from './support/demo-catalog.ts';

const catalog = demoCatalog();
const plan = (q: string, history: { question: string; plan: QueryPlan | null }[] = []) => {
  const p = planQuestion(q, catalog, history);
  if ('abstain' in p) throw new Error(`abstained on "${q}": ${p.reason}`);
  return p;
};
const col = (table: string, column: string) => ({ table, column });

suite('joins along the semantic layer', () => {
  it('a column of the referenced table, through the foreign key named next to it', () => {
    const p = plan('Which destination city receives the most flights?');
    expect(p).toMatchObject({
      table: 'flights',
      joins: [{ column: 'destination', table: 'airports', references: 'iata' }],
      aggregate: 'COUNT',
      group: { column: col('airports', 'city'), timePart: null },
      order: 'DESC',
      limit: 1,
    });
    expect(toSql(p, catalog).sql).toBe(
      'SELECT `city`, `row_count` FROM (SELECT t1.`city` AS `city`, COUNT(*) AS `row_count`, RANK() OVER (ORDER BY ' +
        'COUNT(*) DESC NULLS LAST) AS `_rank` FROM `flights` AS t0 JOIN `airports` AS t1 ON t0.`destination` = ' +
        't1.`iata` WHERE t1.`city` IS NOT NULL GROUP BY t1.`city`) AS `ranked` WHERE `_rank` <= :p1 ORDER BY ' +
        '`row_count` DESC NULLS LAST, `city` ASC LIMIT 1000',
    );
  });

  it('a state named in full is the stored code, through the foreign key the verb points at', () => {
    const p = plan('How many flights departed from airports in California?');
    expect(p).toMatchObject({
      table: 'flights',
      joins: [{ column: 'origin', table: 'airports', references: 'iata' }],
      aggregate: 'COUNT',
      filters: [{ column: col('airports', 'state'), timePart: null, op: '=', values: ['CA'] }],
    });
    expect(plan('How many flights arrived in Texas?').joins).toEqual([
      { column: 'destination', table: 'airports', references: 'iata' },
    ]);
  });

  it('a table of its own is not joined: airports in Texas', () => {
    expect(plan('How many airports are in Texas?')).toMatchObject({
      table: 'airports',
      joins: [],
      filters: [{ column: col('airports', 'state'), op: '=', values: ['TX'] }],
    });
  });

  it('refuses when it cannot tell which foreign key', () => {
    expect(planQuestion('How many flights are there per city?', catalog)).toMatchObject({ abstain: true });
  });
});

suite('calendar parts and ranges', () => {
  it('month groups are labelled by name and read in calendar order', () => {
    const p = plan('Show the average temp_max by month in 2014');
    expect(p).toMatchObject({ group: { column: col('seattle_weather', 'date'), timePart: 'MONTH' }, limit: null });
    const { sql, params } = toSql(p, catalog);
    expect(sql).toBe(
      'SELECT `month`, `avg_temp_max` FROM (SELECT ' +
        "element_at(array('January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', " +
        "'September', 'October', 'November', 'December'), CAST(MONTH(`date`) AS INT)) AS `month`, MONTH(`date`) AS " +
        '`_key`, AVG(`temp_max`) AS `avg_temp_max` FROM `seattle_weather` WHERE YEAR(`date`) = :p1 AND MONTH(`date`) ' +
        'IS NOT NULL GROUP BY MONTH(`date`)) AS `grouped` ORDER BY `_key` ASC LIMIT 1000',
    );
    expect(params).toEqual({ p1: 2014 });
  });

  it('a month and a year', () => {
    expect(plan('How many flights were there in March 2001?').filters).toEqual([
      { column: col('flights', 'date'), timePart: 'MONTH', op: '=', values: [3] },
      { column: col('flights', 'date'), timePart: 'YEAR', op: '=', values: [2001] },
    ]);
  });

  it('between two years, and the last N years of data (from the profiled latest date)', () => {
    expect(plan('Average precipitation between 2013 and 2014').filters).toEqual([
      { column: col('seattle_weather', 'date'), timePart: 'YEAR', op: 'BETWEEN', values: [2013, 2014] },
    ]);
    // seattle-weather.csv ends on 2015-12-31: the last 2 years are 2014 and 2015.
    expect(plan('Total precipitation in the last 2 years of data').filters).toEqual([
      { column: col('seattle_weather', 'date'), timePart: 'YEAR', op: 'BETWEEN', values: [2014, 2015] },
    ]);
  });

  it('the day of the week', () => {
    expect(plan('Which day of the week has the most flights?')).toMatchObject({
      group: { column: col('flights', 'date'), timePart: 'DAY_OF_WEEK' },
      aggregate: 'COUNT',
      limit: 1,
    });
  });
});

suite('superlatives through column semantics', () => {
  it('"warmest" is the highest of the temperature column that holds maxima', () => {
    expect(plan('What is the warmest temperature recorded in Seattle?')).toMatchObject({
      aggregate: 'MAX',
      measure: col('seattle_weather', 'temp_max'),
      group: null,
    });
    expect(plan('What is the coldest temperature in Seattle?')).toMatchObject({
      aggregate: 'MIN',
      measure: col('seattle_weather', 'temp_min'),
    });
  });

  it('"the coldest day" asks which day', () => {
    expect(plan('What was the coldest day in Seattle?')).toMatchObject({
      aggregate: 'MIN',
      measure: col('seattle_weather', 'temp_min'),
      group: { column: col('seattle_weather', 'date'), timePart: 'DATE' },
      order: 'ASC',
      limit: 1,
    });
  });

  it('"which car" names the car: the table\'s identifier column, with the value', () => {
    expect(plan('Which car has the highest miles per gallon?')).toMatchObject({
      aggregate: 'MAX',
      measure: col('cars', 'miles_per_gallon'),
      group: { column: col('cars', 'name'), timePart: null },
      limit: 1,
    });
  });

  it('a unit picks the column when no column is named', () => {
    expect(plan('How many penguins weigh more than 5 kg?').filters).toEqual([
      { column: col('penguins', 'body_mass_g'), timePart: null, op: '>', values: [5000] },
    ]);
  });

  it('median, percentile and count distinct', () => {
    expect(plan('What is the median horsepower of cars?')).toMatchObject({ aggregate: 'MEDIAN' });
    const p = plan('What is the 90th percentile of delay?');
    expect(p).toMatchObject({ aggregate: 'PERCENTILE', percentile: 0.9, measure: col('flights', 'delay') });
    expect(toSql(p, catalog)).toEqual({
      sql: 'SELECT percentile(`delay`, :p1) AS `p90_delay` FROM `flights`',
      params: { p1: 0.9 },
    });
    expect(plan('How many distinct stock symbols are there?')).toMatchObject({
      aggregate: 'COUNT_DISTINCT',
      measure: col('stocks', 'symbol'),
    });
  });
});

suite('follow-ups change the previous plan', () => {
  const first = plan('What was the total precipitation in 2012?');
  it('"And in 2015?" replaces the year', () => {
    const p = plan('And in 2015?', [{ question: 'What was the total precipitation in 2012?', plan: first }]);
    expect(p).toEqual({ ...first, filters: [{ ...first.filters[0]!, values: [2015] }] });
  });
  it('"Show it by month" groups the same question', () => {
    const p = plan('Show it by month', [{ question: '', plan: first }]);
    expect(p).toEqual({ ...first, group: { column: col('seattle_weather', 'date'), timePart: 'MONTH' } });
  });
  it('"What about Gentoo?" swaps the value of the same column', () => {
    const adelie = plan('What is the average body mass of Adelie penguins?');
    const p = plan('What about Gentoo?', [{ question: '', plan: adelie }]);
    expect(p.filters).toEqual([{ column: col('penguins', 'species'), timePart: null, op: '=', values: ['Gentoo'] }]);
    expect(planSummary(p)).toBe('average body_mass_g in penguins where species is "Gentoo"');
  });
  it('a follow-up about something the table does not hold abstains', () => {
    expect(planQuestion('What about Atlantis?', catalog, [{ question: '', plan: first }])).toMatchObject({
      abstain: true,
    });
  });
  it('a new complete question is not a follow-up', () => {
    const p = plan('How many cars are there?', [{ question: '', plan: first }]);
    expect(p).toMatchObject({ table: 'cars', aggregate: 'COUNT', filters: [] });
  });
});

suite('abstains on what the data does not hold', () => {
  for (const q of [
    'How many flights departed from Atlantis?',
    'What was the average price of TSLA?',
    'What will the weather be in Seattle tomorrow?',
    'What is the average salary of our employees?',
    'Which airline has the most delays?',
    'How many penguins live in Antarctica?',
  ])
    it(q, () => expect(planQuestion(q, catalog)).toMatchObject({ abstain: true }));
});

suite('validatePlan: every plan, from any source, is checked against the catalog', () => {
  const good: QueryPlan = plan('How many flights departed from airports in California?');
  const refused =
    (p: unknown, cat: Catalog = catalog) =>
    () =>
      validatePlan(p, cat);
  it('accepts a valid plan unchanged', () => expect(validatePlan(good, catalog)).toEqual(good));
  it('refuses a table the organization does not have', () => {
    // The catalog of another organization without flights: the same plan names a table it does not hold.
    const other: Catalog = { tables: catalog.tables.filter((t) => t.name !== 'flights'), relationships: [] };
    expect(refused(good, other)).toThrow('there is no table "flights"');
    expect(refused({ ...good, table: 'org=1/flights' })).toThrow('there is no table');
  });
  it('refuses a column that does not exist, a join that is not declared, a misfit aggregate', () => {
    expect(refused({ ...good, measure: col('flights', 'salary'), aggregate: 'AVG' })).toThrow('has no column');
    expect(refused({ ...good, joins: [{ column: 'origin', table: 'airports', references: 'name' }] })).toThrow(
      'not declared',
    );
    expect(refused({ ...good, aggregate: 'AVG', measure: col('airports', 'city') })).toThrow('not numeric');
    expect(
      refused({ ...good, filters: [{ column: col('airports', 'city'), timePart: 'YEAR', op: '=', values: [1] }] }),
    ).toThrow('not a date');
    expect(refused({ ...good, limit: 5 })).toThrow('needs a group');
    expect(refused({ ...good, filters: Array(21).fill(good.filters[0]) })).toThrow('at most 20');
    expect(refused('SELECT 1')).toThrow('not an object');
  });
});

suite('named metrics of the semantic layer', () => {
  const withMetric: Catalog = {
    ...catalog,
    tables: catalog.tables.map((t) =>
      t.name !== 'flights'
        ? t
        : {
            ...t,
            metrics: [
              {
                table: 'flights',
                name: 'total_distance',
                description: 'Miles flown',
                aggregate: 'SUM' as const,
                column: 'distance',
                synonyms: ['miles flown'],
              },
            ],
          },
    ),
  };
  it('a metric named by a synonym computes its aggregate, filtered as asked', () => {
    const p = planQuestion('What were the miles flown from SEA?', withMetric);
    expect(p).toMatchObject({
      table: 'flights',
      aggregate: 'SUM',
      measure: col('flights', 'distance'),
      metric: 'total_distance',
      filters: [{ column: col('flights', 'origin'), op: '=', values: ['SEA'] }],
    });
    expect(planSummary(p as QueryPlan)).toBe('total distance in flights where origin is "SEA"');
  });
  it('without the metric, the same words are not understood', () => {
    expect(planQuestion('What were the miles flown from SEA?', catalog)).toMatchObject({ abstain: true });
  });
});

suite('what a question leaves unread is refused, not dropped', () => {
  it('a comparison without a number ("more than an hour") abstains instead of averaging every row', () => {
    expect(planQuestion('What is the average delay of flights delayed more than an hour?', catalog)).toMatchObject({
      abstain: true,
    });
  });
  it('a unit picks the compared column: flights longer than 1000 miles compares the distance', () => {
    expect(plan('What is the average delay of flights longer than 1000 miles?')).toMatchObject({
      aggregate: 'AVG',
      measure: col('flights', 'delay'),
      filters: [{ column: col('flights', 'distance'), op: '>', values: [1000] }],
    });
  });
  it('"over the past 3 months" is a time span back from the latest profiled date (2015-12-31)', () => {
    expect(plan('Average temp_max over the past 3 months').filters).toEqual([
      { column: col('seattle_weather', 'date'), timePart: 'DATE', op: 'BETWEEN', values: ['2015-10-01', '2015-12-31'] },
    ]);
    expect(plan('Total precipitation in the last year').filters).toEqual([
      { column: col('seattle_weather', 'date'), timePart: 'YEAR', op: '=', values: [2015] },
    ]);
  });
  it('a follow-up that names another table is a new question', () => {
    const weather = plan('What was the total precipitation in 2012?');
    expect(plan('And how many cars are there?', [{ question: '', plan: weather }])).toMatchObject({
      table: 'cars',
      aggregate: 'COUNT',
      filters: [],
    });
  });
  it('"and the lowest?" keeps the measure and the filters', () => {
    const avg = plan('What was the average temp_max in 2014?');
    expect(plan('And the lowest?', [{ question: '', plan: avg }])).toEqual({ ...avg, aggregate: 'MIN' });
  });
});

suite('counting names, values after columns, superlatives before nouns', () => {
  it('"how many countries" counts distinct countries, not country-year rows', () => {
    expect(plan('How many countries are in cluster 3?')).toMatchObject({
      aggregate: 'COUNT_DISTINCT',
      measure: col('gapminder', 'country'),
      filters: [{ column: col('gapminder', 'cluster'), op: '=', values: [3] }],
    });
    expect(plan('How many cities are in Texas?')).toMatchObject({
      aggregate: 'COUNT_DISTINCT',
      measure: col('airports', 'city'),
      filters: [{ column: col('airports', 'state'), values: ['TX'] }],
    });
  });
  it('"the heaviest penguin species" groups by species', () => {
    expect(plan('What is the heaviest penguin species?')).toMatchObject({
      group: { column: col('penguins', 'species'), timePart: null },
      measure: col('penguins', 'body_mass_g'),
      order: 'DESC',
      limit: 1,
    });
  });
});

suite('Message.plan in words', () => {
  it('filters, grouping and measure of a joined, ranked plan read as the answer text does', () => {
    const p = plan('Which origin state has the highest average flight delay in January?');
    expect(answerPlan({ summary: planSummary(p), plan: p })).toEqual({
      summary:
        'average delay in flights with airports (by origin) where the month of date is January, per airports.state, ' +
        'highest first (top 1, ties kept)',
      table: 'flights',
      measure: 'Average delay',
      filters: ['the month of date is January'],
      grouping: 'airports.state, top 1 by the measure',
      json: p,
    });
  });
});

suite('found in a fresh-eyes pass: never an answer without what was asked', () => {
  it('an answer asked in another unit than the stored one abstains (no minutes presented as hours)', () => {
    for (const q of ['What was the longest delay in hours?', 'What is the total precipitation in inches?'])
      expect(planQuestion(q, catalog)).toMatchObject({ abstain: true });
    // The stored unit itself is fine.
    expect(plan('What is the total precipitation in mm?')).toMatchObject({ aggregate: 'SUM', filters: [] });
  });
  it('a grouping it cannot read is refused, not dropped', () => {
    for (const q of ['Average delay by hour', 'Number of flights per hour', 'Total precipitation by weather and month'])
      expect(planQuestion(q, catalog)).toMatchObject({ abstain: true });
    expect(plan('Top 3 states by number of airports').limit).toBe(3);
    expect(plan('How many flights were delayed by more than 60 minutes?').filters).toHaveLength(1);
  });
  it('"there" points back: the previous filter stays', () => {
    const texas = plan('How many airports are in Texas?');
    const california = plan('What about California?', [{ question: '', plan: texas }]);
    const p = plan('Which city there has the most?', [
      { question: '', plan: texas },
      { question: '', plan: california },
    ]);
    expect(p).toMatchObject({
      table: 'airports',
      filters: [{ column: col('airports', 'state'), values: ['CA'] }],
      group: { column: col('airports', 'city') },
      aggregate: 'COUNT',
      limit: 1,
    });
    // The existential "there" is not a reference to the previous answer.
    expect(plan('How many rainy days were there in 2015?', [{ question: '', plan: texas }]).table).toBe(
      'seattle_weather',
    );
  });
  it('an integer month column groups with month names (Spark needs an INT index)', () => {
    const p = plan('Average unemployment rate by month');
    expect(p.group).toEqual({ column: col('unemployment_across_industries', 'month'), timePart: 'MONTH' });
    expect(toSql(p, catalog).sql).toContain('CAST(`month` AS INT)');
  });
  it('a date column named by a calendar word is that part: cars by year', () => {
    expect(plan('How many cars by year').group).toEqual({ column: col('cars', 'year'), timePart: 'YEAR' });
  });
  it('abbreviations name spelled-out columns: mpg, hp', () => {
    expect(plan('What is the average mpg by year?').measure).toEqual(col('cars', 'miles_per_gallon'));
  });
});

suite('more of the calendar and of negation', () => {
  const weather = col('seattle_weather', 'date');
  it('since / before a year, days of the week, weekends, quarters', () => {
    expect(plan('Average AAPL price since 2005').filters).toContainEqual({
      column: col('stocks', 'date'),
      timePart: 'YEAR',
      op: '>=',
      values: [2005],
    });
    expect(plan('How many flights on Mondays?').filters).toEqual([
      { column: col('flights', 'date'), timePart: 'DAY_OF_WEEK', op: '=', values: [2] },
    ]);
    expect(plan('How many flights on weekends?').filters).toEqual([
      { column: col('flights', 'date'), timePart: 'DAY_OF_WEEK', op: 'IN', values: [1, 7] },
    ]);
    expect(plan('Average precipitation in Q1').filters).toEqual([
      { column: weather, timePart: 'QUARTER', op: '=', values: [1] },
    ]);
  });
  it('two comparisons each compare their own column', () => {
    expect(plan('How many days had temp_max over 25 and precipitation over 0?').filters).toEqual([
      { column: col('seattle_weather', 'temp_max'), timePart: null, op: '>', values: [25] },
      { column: col('seattle_weather', 'precipitation'), timePart: null, op: '>', values: [0] },
    ]);
  });
  it('"which 3 countries" is a top 3; "when" asks for the day', () => {
    expect(plan('Which 3 countries had the lowest life expectancy in 1955?')).toMatchObject({
      group: { column: col('gapminder', 'country') },
      order: 'ASC',
      limit: 3,
    });
    expect(plan('When was the AAPL price highest?')).toMatchObject({
      group: { column: col('stocks', 'date'), timePart: 'DATE' },
      aggregate: 'MAX',
      limit: 1,
    });
  });
  it('"not" excludes the value it precedes; a "not" with no value abstains', () => {
    expect(plan('How many flights were not from SEA?').filters).toEqual([
      { column: col('flights', 'origin'), timePart: null, op: '!=', values: ['SEA'] },
    ]);
    expect(planQuestion('How many flights were not delayed?', catalog)).toMatchObject({ abstain: true });
  });
});
