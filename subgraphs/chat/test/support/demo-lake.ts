/**
 * Writes demo tables into an org's gold prefix of a fresh bucket (the test run's S3Proxy), through the REAL Spark
 * Connect server over s3a
 * (SPARK_REMOTE, default sc://127.0.0.1:15002) in a writer session of its own: each vega-datasets file is read by
 * Spark and written as a Delta table with snake_case columns and the types the spark-apps give them (DATE for
 * dates, TIMESTAMP for date-times, BIGINT for whole numbers, DOUBLE otherwise; "NA"/"." are not values).
 * The source file is first put into the org's bronze prefix, so Spark reads only from the object store.
 * An independent loader, so that the chat tests do not depend on the ingest pipeline.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  bronzeTablePrefix,
  createObjectStore,
  createSparkConnectClient,
  goldTablePrefix,
  s3aUri,
  type ObjectStore,
  type SparkConnectClient,
} from '@datapilot/lake-core';
import { createTestBucket } from '../../../../infra/s3/testing.ts';
import { VEGA_DATA_DIR } from './demo-catalog.ts';

export const SPARK_REMOTE = process.env.SPARK_REMOTE || 'sc://127.0.0.1:15002';

const num = (src: string, name: string, type = 'DOUBLE') => `CAST(\`${src}\` AS ${type}) AS \`${name}\``;
const str = (src: string, name: string) =>
  `CASE WHEN CAST(\`${src}\` AS STRING) IN ('NA', '.', '') THEN NULL ELSE CAST(\`${src}\` AS STRING) END AS \`${name}\``;

/** Table → [file, Spark reader options, select list over the raw columns]. */
const DEMO_SQL: Record<string, [string, string, string[]]> = {
  seattle_weather: [
    'seattle-weather.csv',
    "header 'true'",
    [
      'CAST(`date` AS DATE) AS `date`',
      num('precipitation', 'precipitation'),
      num('temp_max', 'temp_max'),
      num('temp_min', 'temp_min'),
      num('wind', 'wind'),
      str('weather', 'weather'),
    ],
  ],
  stocks: [
    'stocks.csv',
    "header 'true'",
    [str('symbol', 'symbol'), "to_date(`date`, 'MMM d yyyy') AS `date`", num('price', 'price')],
  ],
  cars: [
    'cars.json',
    "multiLine 'true'",
    [
      str('Name', 'name'),
      num('Miles_per_Gallon', 'miles_per_gallon'),
      num('Cylinders', 'cylinders', 'BIGINT'),
      num('Displacement', 'displacement'),
      num('Horsepower', 'horsepower', 'BIGINT'),
      num('Weight_in_lbs', 'weight_in_lbs', 'BIGINT'),
      num('Acceleration', 'acceleration'),
      'CAST(`Year` AS DATE) AS `year`',
      str('Origin', 'origin'),
    ],
  ],
  penguins: [
    'penguins.json',
    "multiLine 'true'",
    [
      str('Species', 'species'),
      str('Island', 'island'),
      num('Beak Length (mm)', 'beak_length_mm'),
      num('Beak Depth (mm)', 'beak_depth_mm'),
      num('Flipper Length (mm)', 'flipper_length_mm', 'BIGINT'),
      num('Body Mass (g)', 'body_mass_g', 'BIGINT'),
      str('Sex', 'sex'),
    ],
  ],
  flights: [
    'flights-20k.json',
    "multiLine 'true'",
    [
      "to_timestamp(`date`, 'yyyy/MM/dd HH:mm') AS `date`",
      num('delay', 'delay', 'BIGINT'),
      num('distance', 'distance', 'BIGINT'),
      str('origin', 'origin'),
      str('destination', 'destination'),
    ],
  ],
  airports: [
    'airports.csv',
    "header 'true'",
    [
      str('iata', 'iata'),
      str('name', 'name'),
      str('city', 'city'),
      str('state', 'state'),
      str('country', 'country'),
      num('latitude', 'latitude'),
      num('longitude', 'longitude'),
    ],
  ],
  gapminder: [
    'gapminder.json',
    "multiLine 'true'",
    [
      num('year', 'year', 'BIGINT'),
      str('country', 'country'),
      num('cluster', 'cluster', 'BIGINT'),
      num('pop', 'pop', 'BIGINT'),
      num('life_expect', 'life_expect'),
      num('fertility', 'fertility'),
    ],
  ],
  unemployment_across_industries: [
    'unemployment-across-industries.json',
    "multiLine 'true'",
    [
      str('series', 'series'),
      num('year', 'year', 'BIGINT'),
      num('month', 'month', 'BIGINT'),
      num('count', 'count', 'BIGINT'),
      num('rate', 'rate'),
      'CAST(`date` AS TIMESTAMP) AS `date`',
    ],
  ],
};

/** Names of the tables {@link DemoLake.write} can write. */
export const DEMO_TABLE_NAMES = Object.keys(DEMO_SQL);

export type DemoLake = {
  /** The fixture's bucket (also usable by createLake). */
  store: ObjectStore;
  spark: SparkConnectClient;
  /** Writes `tables` (default all) for `orgId` as Delta tables (version 0). */
  write(orgId: string, tables?: string[]): Promise<void>;
  /** Releases the writer session, closes the clients, deletes the bucket. */
  cleanup(): Promise<void>;
};

/** A fresh bucket and a Spark Connect client (both also usable by createLake). */
export async function createDemoLake(): Promise<DemoLake> {
  const bucket = await createTestBucket();
  const store = createObjectStore(bucket.store);
  const spark = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 280_000 });
  const session = randomUUID();
  return {
    store,
    spark,
    async write(orgId, tables = DEMO_TABLE_NAMES) {
      for (const table of tables) {
        const [file, options, select] = DEMO_SQL[table]!;
        const format = file.endsWith('.csv') ? 'csv' : 'json';
        const view = `src_${table}`;
        const source = `${bronzeTablePrefix(orgId, table)}fixture/${file}`;
        await store.put(source, await readFile(path.join(VEGA_DATA_DIR, file)));
        await spark.executeSql(
          session,
          `CREATE OR REPLACE TEMPORARY VIEW ${view} USING ${format} OPTIONS (path '${s3aUri(store.bucket, source)}', ${options})`,
        );
        const target = s3aUri(store.bucket, goldTablePrefix(orgId, table));
        await spark.executeSql(
          session,
          `CREATE TABLE delta.\`${target}\` USING delta AS SELECT ${select.join(', ')} FROM ${view}`,
        );
      }
    },
    async cleanup() {
      await spark.releaseSession(session).catch(() => undefined);
      spark.close();
      store.close();
      await bucket.close();
    },
  };
}
