import { DEFAULT_PORTS, databaseConfig, devSecret, int, str, url, SERVICE_CONFIG } from '@datapilot/common';
import { LAKE_CONFIG } from '@datapilot/lake-core';
import { DEFAULT_MAX_UPLOADS_IN_PROGRESS } from './uploads.ts';

/** The lake subgraph's variables (README, Configuration). */
export const LAKE_SERVICE_CONFIG = {
  ...SERVICE_CONFIG,
  ...LAKE_CONFIG,
  ...databaseConfig('lake', 'datapilot_lake'),
  LAKE_PORT: int('HTTP and WebSocket port of the lake subgraph', DEFAULT_PORTS.lake, 0, 65535),
  LAKE_HOST: str('interface the lake subgraph binds', '127.0.0.1'),
  AIRFLOW_URL: url('base URL of the Airflow 3 API server', `http://127.0.0.1:${DEFAULT_PORTS.airflow}`),
  AIRFLOW_USERNAME: str('Airflow service account of the lake subgraph', 'datapilot'),
  // compose's development overlay publishes 'datapilot-dev'.
  AIRFLOW_PASSWORD: devSecret(str('password of that service account (required)'), "that account's password", [
    'datapilot-dev',
  ]),
  UPLOAD_MAX_BYTES: int('largest upload, in bytes', 1 << 30, 1, 2 ** 31 - 1),
  UPLOAD_URL_TTL_SECONDS: int('how long a presigned upload URL works, in seconds', 900, 60, 7 * 24 * 3600),
  UPLOAD_MAX_PENDING: int('uploads an organization may have waiting for their file', 100, 1, 100_000),
  LAKE_MAX_CONCURRENT_UPLOADS_PER_ORG: int(
    'uploads an organization may have in progress (waiting for their file or being loaded); createUpload answers ' +
      'RATE_LIMITED beyond',
    DEFAULT_MAX_UPLOADS_IN_PROGRESS,
    1,
    100_000,
  ),
  RUN_WATCH_INTERVAL_MS: int(
    'pause between two polls of Airflow by the run watcher, in milliseconds',
    1_000,
    100,
    60_000,
  ),
};
