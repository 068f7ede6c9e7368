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
    'flown happened occurred made built produced manufactured'
  ).split(' '),
);

/** Extra names of columns, by column name (the names themselves and their words are derived automatically). */
export const COLUMN_SYNONYMS: Record<string, string[]> = {
  temp_max: ['temp', 'temperature', 'max temp', 'max temperature', 'maximum temperature', 'high temperature'],
  temp_min: ['min temp', 'min temperature', 'minimum temperature', 'low temperature'],
  precipitation: ['rainfall', 'precip', 'rain amount'],
  wind: ['wind speed'],
  weather: ['weather type', 'weather condition', 'condition'],
  miles_per_gallon: ['mpg', 'fuel economy', 'fuel efficiency', 'mileage'],
  horsepower: ['hp', 'horse power', 'power'],
  weight_in_lbs: ['weight', 'weigh', 'heavy'],
  body_mass_g: ['body mass', 'mass', 'weight', 'weigh', 'heavy'],
  delay: ['delayed', 'late', 'lateness', 'arrival delay'],
  origin: ['origin airport', 'departure airport'],
  destination: ['dest', 'destination airport', 'arrival airport'],
  price: ['stock price', 'share price', 'closing price'],
  symbol: ['ticker', 'company'],
  life_expect: ['life expectancy'],
  pop: ['population'],
  fertility: ['fertility rate'],
  series: ['industry', 'sector'],
  count: ['unemployed', 'unemployment count'],
  rate: ['unemployment rate'],
  iata: ['iata code', 'airport code'],
};

/** Extra names of tables, by table name (the name and its words are derived automatically). */
export const TABLE_SYNONYMS: Record<string, string[]> = {
  cars: ['car', 'automobile', 'vehicle'],
  stocks: ['stock', 'share'],
  seattle_weather: ['seattle'],
};

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
  km: { dim: 'distance', factor: 0.621371192 },
  kilometer: { dim: 'distance', factor: 0.621371192 },
  degree: { dim: 'temperature', factor: 1 },
  celsius: { dim: 'temperature', factor: 1 },
};

/**
 * The unit of a column's values (a key of {@link UNITS}), by column name; names ending in a unit suffix
 * (`_mm`, `_g`, `_lbs`, ...) need no entry. A number with a unit compared to a column of unknown unit abstains.
 */
export const COLUMN_UNITS: Record<string, string> = {
  delay: 'minute',
  precipitation: 'mm',
  temp_max: 'celsius',
  temp_min: 'celsius',
  distance: 'mile',
};

/** Words naming a calendar bucket of a date column ("by year"). */
export const TIME_BUCKETS = new Set(['year']);

/**
 * Prepositions that pick one of several columns holding the same value: "from DFW" means an origin-like column,
 * "to DFW" a destination-like one.
 */
export const VALUE_DIRECTIONS: Record<string, string[]> = {
  from: ['origin', 'source', 'departure'],
  to: ['destination', 'dest', 'arrival'],
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
