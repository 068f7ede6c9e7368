import type { TimePart } from './query-plan.ts';

/**
 * The analyst's vocabulary, as data. Words are matched after {@link lemma} (so "flights" finds "flight"),
 * phrases longest first. Edit these tables to teach the analyst a phrase; the parser has no word lists of its own.
 */

/** Grammar cues: what a word or phrase asks for. */
export type Cue =
  | 'COUNT' // how many, number of
  | 'AVG'
  | 'SUM'
  | 'HIGH' // highest, maximum: MAX of a measure, or order DESC
  | 'LOW' // lowest, minimum: MIN of a measure, or order ASC
  | 'MOST' // most: SUM of a measure or COUNT, order DESC
  | 'LEAST'
  | 'MOST_COMMON' // most common X: group by X, COUNT, DESC, top 1
  | 'LEAST_COMMON'
  | 'DISTINCT'
  | 'GROUP' // per/by/each X
  | 'WHICH' // which/what X (a group when X is a categorical column)
  | 'TOP'
  | 'BOTTOM'
  | 'GT'
  | 'GE'
  | 'LT'
  | 'LE'
  | 'EQ'
  | 'MEDIAN'
  | 'PERCENTILE' // "90th percentile of X"
  | 'BETWEEN' // "between 2010 and 2012"
  | 'LAST' // "the last 3 years"
  | 'NONE' // "no precipitation": the measure is 0
  | 'NOT' // "not from SEA", "excluding Adelie": the value is excluded
  | 'WHEN' // "when was the price highest": which date
  | 'IGNORE'; // phrases that mean nothing here ("in total", "how much")

export const CUES: Record<string, Cue> = {
  'how many': 'COUNT',
  'number of': 'COUNT',
  count: 'COUNT',
  'count of': 'COUNT',
  average: 'AVG',
  avg: 'AVG',
  mean: 'AVG',
  total: 'SUM',
  sum: 'SUM',
  'sum of': 'SUM',
  combined: 'SUM',
  highest: 'HIGH',
  maximum: 'HIGH',
  max: 'HIGH',
  largest: 'HIGH',
  biggest: 'HIGH',
  greatest: 'HIGH',
  longest: 'HIGH',
  peak: 'HIGH',
  lowest: 'LOW',
  minimum: 'LOW',
  min: 'LOW',
  smallest: 'LOW',
  shortest: 'LOW',
  most: 'MOST',
  least: 'LEAST',
  fewest: 'LEAST',
  'most common': 'MOST_COMMON',
  'most frequent': 'MOST_COMMON',
  'most popular': 'MOST_COMMON',
  'least common': 'LEAST_COMMON',
  'least frequent': 'LEAST_COMMON',
  distinct: 'DISTINCT',
  different: 'DISTINCT',
  unique: 'DISTINCT',
  per: 'GROUP',
  by: 'GROUP',
  each: 'GROUP',
  every: 'GROUP',
  across: 'GROUP',
  which: 'WHICH',
  what: 'WHICH',
  top: 'TOP',
  bottom: 'BOTTOM',
  'more than': 'GT',
  'greater than': 'GT',
  'higher than': 'GT',
  'larger than': 'GT',
  'longer than': 'GT',
  'bigger than': 'GT',
  over: 'GT',
  above: 'GT',
  exceeding: 'GT',
  'at least': 'GE',
  'less than': 'LT',
  'fewer than': 'LT',
  'lower than': 'LT',
  'smaller than': 'LT',
  'shorter than': 'LT',
  under: 'LT',
  below: 'LT',
  'at most': 'LE',
  exactly: 'EQ',
  'equal to': 'EQ',
  median: 'MEDIAN',
  percentile: 'PERCENTILE',
  between: 'BETWEEN',
  last: 'LAST',
  past: 'LAST',
  'most recent': 'LAST',
  no: 'NONE',
  not: 'NOT',
  excluding: 'NOT',
  except: 'NOT',
  'other than': 'NOT',
  when: 'WHEN',
  zero: 'NONE',
  without: 'NONE',
  'in total': 'IGNORE',
  'how much': 'IGNORE',
  'of all time': 'IGNORE',
};

/** Comparison cues and their SQL operators. */
export const COMPARISONS: Partial<Record<Cue, '>' | '>=' | '<' | '<=' | '='>> = {
  GT: '>',
  GE: '>=',
  LT: '<',
  LE: '<=',
  EQ: '=',
};

/** A word right before a year ("in 2014") and the comparison of the year it means. */
export const YEAR_WORDS: Record<string, '=' | '>' | '>=' | '<' | '<='> = {
  in: '=',
  during: '=',
  for: '=',
  of: '=',
  since: '>=',
  after: '>',
  before: '<',
  until: '<=',
};

/** Number words accepted after "top"/"bottom". */
export const NUMBER_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  twenty: 20,
};

/**
 * Words that carry no meaning for the plan. Anything else the analyst cannot place makes it abstain, so negations
 * ("not", "without", "except") and unknown places or names are deliberately absent.
 */
export const STOPWORDS = new Set(
  (
    'a an the is are was were be been being am of in on at for to from with within into and or as there here ' +
    'who whom whose how much many me tell show give list find get compute calculate please i we you my our your us ' +
    'do does did have has had it its that this these those all any some data dataset table tables value values ' +
    'record records row rows entry entries overall type types kind kinds category categories day days minute minutes ' +
    'hour hours time times recorded measured observed reported can could would should will know want like then so ' +
    'ever altogether only just mm millimeter millimeters gram grams g kg lbs pound pounds degree degrees celsius ' +
    'inch inches dollar dollars usd percent whole entire departed departing leaving arrived arriving flying flew ' +
    'flown happened occurred made built produced manufactured receive receives received receiving get got ' +
    'gets getting land landed landing arrive arrives depart departs leave leaves left th st nd rd what about ' +
    'instead now same also again it them versus vs weigh weighs weighed cost costs costed ' +
    'placed place sold sell bought buy purchased shipped ordered created registered recorded logged listed ' +
    'observed seen saw take took taken go went gone come came have having'
  ).split(' '),
);

/**
 * Common abbreviations in column names and the words they stand for (generic English, not per table): a column
 * `temp_max` is also named "temperature max" / "maximum temperature". Used in both directions by catalog.ts.
 */
export const ABBREVIATIONS: Record<string, string> = {
  temp: 'temperature',
  max: 'maximum',
  min: 'minimum',
  avg: 'average',
  pop: 'population',
  expect: 'expectancy',
  dest: 'destination',
  orig: 'origin',
  num: 'number',
  qty: 'quantity',
  amt: 'amount',
  pct: 'percent',
  lat: 'latitude',
  lon: 'longitude',
  lng: 'longitude',
  desc: 'description',
  dt: 'date',
  yr: 'year',
  mpg: 'miles per gallon',
  hp: 'horsepower',
  precip: 'precipitation',
  dept: 'department',
  cust: 'customer',
  prod: 'product',
  rev: 'revenue',
  addr: 'address',
  dist: 'distance',
  dur: 'duration',
  cnt: 'count',
  wt: 'weight',
  ht: 'height',
};

/**
 * Adjectives that ask for the highest or lowest value of a kind of quantity ("the warmest day", "the cheapest
 * product"): direction and the words a column of that quantity is named with (matched against the column's name,
 * synonyms and unit dimension). Generic English, not per table.
 */
export const QUANTITY_ADJECTIVES: Record<string, { dir: 'HIGH' | 'LOW'; quantity: string[] }> = {
  warmest: { dir: 'HIGH', quantity: ['temperature', 'temp'] },
  hottest: { dir: 'HIGH', quantity: ['temperature', 'temp'] },
  coldest: { dir: 'LOW', quantity: ['temperature', 'temp'] },
  coolest: { dir: 'LOW', quantity: ['temperature', 'temp'] },
  chilliest: { dir: 'LOW', quantity: ['temperature', 'temp'] },
  longest: { dir: 'HIGH', quantity: ['length', 'distance', 'duration'] },
  shortest: { dir: 'LOW', quantity: ['length', 'distance', 'duration'] },
  farthest: { dir: 'HIGH', quantity: ['distance'] },
  furthest: { dir: 'HIGH', quantity: ['distance'] },
  nearest: { dir: 'LOW', quantity: ['distance'] },
  closest: { dir: 'LOW', quantity: ['distance'] },
  heaviest: { dir: 'HIGH', quantity: ['weight', 'mass'] },
  lightest: { dir: 'LOW', quantity: ['weight', 'mass'] },
  tallest: { dir: 'HIGH', quantity: ['height'] },
  fastest: { dir: 'HIGH', quantity: ['speed', 'acceleration'] },
  slowest: { dir: 'LOW', quantity: ['speed', 'acceleration'] },
  windiest: { dir: 'HIGH', quantity: ['wind'] },
  wettest: { dir: 'HIGH', quantity: ['precipitation', 'rain', 'rainfall'] },
  rainiest: { dir: 'HIGH', quantity: ['precipitation', 'rain', 'rainfall'] },
  driest: { dir: 'LOW', quantity: ['precipitation', 'rain', 'rainfall'] },
  priciest: { dir: 'HIGH', quantity: ['price', 'cost'] },
  costliest: { dir: 'HIGH', quantity: ['price', 'cost'] },
  cheapest: { dir: 'LOW', quantity: ['price', 'cost'] },
  oldest: { dir: 'HIGH', quantity: ['age'] },
  youngest: { dir: 'LOW', quantity: ['age'] },
  latest: { dir: 'HIGH', quantity: ['delay'] },
  richest: { dir: 'HIGH', quantity: ['income', 'wealth', 'gdp', 'revenue'] },
  poorest: { dir: 'LOW', quantity: ['income', 'wealth', 'gdp', 'revenue'] },
  'most populous': { dir: 'HIGH', quantity: ['population', 'pop'] },
  'least populous': { dir: 'LOW', quantity: ['population', 'pop'] },
};

/** Words in a column name that mark the high or low variant of a pair (`temp_max` / `temp_min`). */
export const HIGH_WORDS = new Set(['max', 'maximum', 'high', 'highest', 'top', 'upper', 'peak']);
export const LOW_WORDS = new Set(['min', 'minimum', 'low', 'lowest', 'bottom', 'lower']);

/** Trailing unit words dropped from column names to name them naturally (body_mass_g → "body mass"). */
export const UNIT_SUFFIXES = new Set(['mm', 'cm', 'km', 'm', 'g', 'kg', 'lbs', 'in', 'pct', 'usd', 's', 'ms']);

/** Words that, alone, are grammar and never name a column (a column `count` is named by its synonyms). */
export const GRAMMAR_ONLY = new Set(['count', 'number', 'total', 'sum', 'max', 'min', 'average', 'mean', 'top']);

/** Units a number may carry in a question: dimension and size in the dimension's base unit. */
export const UNITS: Record<string, { dim: string; factor: number }> = {
  second: { dim: 'time', factor: 1 / 60 },
  minute: { dim: 'time', factor: 1 },
  hour: { dim: 'time', factor: 60 },
  day: { dim: 'time', factor: 1440 },
  mm: { dim: 'length', factor: 1 },
  millimeter: { dim: 'length', factor: 1 },
  cm: { dim: 'length', factor: 10 },
  centimeter: { dim: 'length', factor: 10 },
  inch: { dim: 'length', factor: 25.4 },
  g: { dim: 'mass', factor: 1 },
  gram: { dim: 'mass', factor: 1 },
  kg: { dim: 'mass', factor: 1000 },
  kilogram: { dim: 'mass', factor: 1000 },
  lbs: { dim: 'mass', factor: 453.59237 },
  pound: { dim: 'mass', factor: 453.59237 },
  mile: { dim: 'distance', factor: 1 },
  m: { dim: 'length', factor: 1000 },
  meter: { dim: 'length', factor: 1000 },
  metre: { dim: 'length', factor: 1000 },
  usd: { dim: 'money', factor: 1 },
  dollar: { dim: 'money', factor: 1 },
  percent: { dim: 'ratio', factor: 1 },
  km: { dim: 'distance', factor: 0.621371192 },
  kilometer: { dim: 'distance', factor: 0.621371192 },
  degree: { dim: 'temperature', factor: 1 },
  celsius: { dim: 'temperature', factor: 1 },
};

/**
 * Words naming a calendar part of a date column ("by year", "which month", "per weekday"), after {@link lemma}.
 * `day` means the calendar day (DATE); "day of week" is matched as a phrase first.
 */
export const TIME_WORDS: Record<string, TimePart> = {
  year: 'YEAR',
  yearly: 'YEAR',
  annual: 'YEAR',
  annually: 'YEAR',
  quarter: 'QUARTER',
  quarterly: 'QUARTER',
  month: 'MONTH',
  monthly: 'MONTH',
  'day of the week': 'DAY_OF_WEEK',
  'day of week': 'DAY_OF_WEEK',
  weekday: 'DAY_OF_WEEK',
  day: 'DATE',
  daily: 'DATE',
  date: 'DATE',
};

/**
 * Prepositions that pick one of several columns holding the same value: "from DFW" means an origin-like column,
 * "to DFW" a destination-like one.
 */
export const VALUE_DIRECTIONS: Record<string, string[]> = {
  from: ['origin', 'source', 'departure', 'from', 'src'],
  departed: ['origin', 'source', 'departure', 'from', 'src'],
  departing: ['origin', 'source', 'departure', 'from', 'src'],
  depart: ['origin', 'source', 'departure', 'from', 'src'],
  leaving: ['origin', 'source', 'departure', 'from', 'src'],
  left: ['origin', 'source', 'departure', 'from', 'src'],
  to: ['destination', 'dest', 'arrival', 'to', 'target'],
  into: ['destination', 'dest', 'arrival', 'to', 'target'],
  arriving: ['destination', 'dest', 'arrival', 'to', 'target'],
  arrived: ['destination', 'dest', 'arrival', 'to', 'target'],
  landing: ['destination', 'dest', 'arrival', 'to', 'target'],
  landed: ['destination', 'dest', 'arrival', 'to', 'target'],
  receive: ['destination', 'dest', 'arrival', 'to', 'target'],
  receives: ['destination', 'dest', 'arrival', 'to', 'target'],
  received: ['destination', 'dest', 'arrival', 'to', 'target'],
};

/**
 * A crude English lemma for matching: lower case, plural endings dropped ("flights" → "flight",
 * "industries" → "industry", "species" stays). Applied to both sides of every comparison, so it only needs to be
 * consistent, not correct.
 */
export function lemma(word: string): string {
  const w = word.toLowerCase();
  if (w.length <= 3) return w;
  if (w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (/(ss|us|is)$/.test(w)) return w;
  if (w.length > 5 && w.endsWith('ed') && !w.endsWith('eed')) return w.slice(0, -2);
  if (/(ches|shes|xes)$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('s')) return w.slice(0, -1);
  return w;
}

/**
 * Other forms a value may take in a question: "rainy" → "rain", "sunny" → "sun", "foggy" → "fog", "snows" → "snow".
 */
export function valueVariants(word: string): string[] {
  const w = word.toLowerCase();
  const out: string[] = [];
  if (w.endsWith('y') && w.length > 3) {
    const stem = w.slice(0, -1);
    out.push(stem);
    if (stem.length > 2 && stem.at(-1) === stem.at(-2)) out.push(stem.slice(0, -1));
  }
  if (w.endsWith('s') && w.length > 3) out.push(w.slice(0, -1));
  return out;
}
