/**
 * What the demo organization's administrator wrote into its semantic layer about the vega-datasets tables: the
 * descriptions and units a profile cannot read from the values (a delay's unit is not in its numbers), and a few
 * words the organization uses for its columns. Applied by the demo loader through the public API (`updateDataset`,
 * `updateColumn`) after the tables load, exactly as an ADMIN of any organization would curate its own layer; the
 * analyst has no knowledge of these tables beyond what is stored.
 * Units and meanings: the vega-datasets documentation of each file (Seattle weather from NOAA, in mm and °C; flights
 * from the US DOT on-time data, delays in minutes and distances in miles).
 */
export type DemoColumnEdit = { description?: string; unit?: string; synonyms?: string[] };

export const DEMO_SEMANTICS: Record<string, { description: string; columns: Record<string, DemoColumnEdit> }> = {
  seattle_weather: {
    description: 'Daily weather observations in Seattle, 2012-2015.',
    columns: {
      date: { description: 'The day of the observation.' },
      precipitation: { description: 'Precipitation on the day, in millimetres.', unit: 'mm', synonyms: ['rainfall'] },
      temp_max: { description: 'Highest temperature of the day, in degrees Celsius.', unit: 'celsius' },
      temp_min: { description: 'Lowest temperature of the day, in degrees Celsius.', unit: 'celsius' },
      wind: { description: 'Average wind speed of the day, in metres per second.', synonyms: ['wind speed'] },
      weather: { description: 'The kind of weather of the day.', synonyms: ['weather type', 'condition'] },
    },
  },
  stocks: {
    description: 'Monthly closing prices of five technology stocks, 2000-2010.',
    columns: {
      symbol: { description: 'Ticker symbol of the company.', synonyms: ['ticker', 'company'] },
      date: { description: 'The month of the price.' },
      price: { description: 'Closing price, in US dollars.', unit: 'usd', synonyms: ['stock price', 'share price'] },
    },
  },
  flights: {
    description: 'A sample of 20,000 US domestic flights of 2001.',
    columns: {
      date: { description: 'Scheduled departure time.' },
      delay: { description: 'Arrival delay in minutes (negative: early).', unit: 'minute', synonyms: ['flight delay'] },
      distance: { description: 'Distance flown, in miles.', unit: 'mile' },
      origin: { description: 'IATA code of the departure airport.', synonyms: ['origin airport', 'departure airport'] },
      destination: {
        description: 'IATA code of the arrival airport.',
        synonyms: ['destination airport', 'arrival airport'],
      },
    },
  },
  airports: {
    description: 'US airports with their IATA codes and locations.',
    columns: { iata: { description: 'IATA airport code.', synonyms: ['airport code'] } },
  },
  gapminder: {
    description: 'Population, life expectancy and fertility by country, every five years from 1955 to 2005.',
    columns: {
      life_expect: { description: 'Life expectancy at birth, in years.' },
      pop: { description: 'Population.' },
      fertility: { description: 'Births per woman.', synonyms: ['fertility rate'] },
    },
  },
  unemployment_across_industries: {
    description: 'Monthly US unemployment by industry, 2000-2010.',
    columns: {
      series: { description: 'The industry.', synonyms: ['industry', 'sector'] },
      count: { description: 'Unemployed people, in thousands.', synonyms: ['unemployed'] },
      rate: { description: 'Unemployment rate, in percent.', unit: 'percent', synonyms: ['unemployment rate'] },
    },
  },
};
