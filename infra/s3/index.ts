/**
 * DataPilot's embedded object store: S3Proxy (Maven Central `org.gaul:s3proxy`, `jar-with-dependencies`,
 * Apache-2.0; version pinned in `infra/s3/pom.xml`) on the `filesystem-nio2` backend. Fetch it
 * (`ensureS3ProxyInstalled`), run it on 127.0.0.1 with kept SigV4 credentials (`startS3Proxy`), create a bucket
 * (`ensureBucket`), and reach any S3-compatible store path-style (`s3ClientConfig`). CLI: `tsx infra/s3/cli.ts`.
 *
 * Layout: the jar in `.local/s3proxy/`, server logs in `.local/logs/s3proxy-<port>.log`; the objects and the
 * credentials file wherever the caller says (the stack: `<state>/data/s3` and `<state>/data/s3-credentials.json`).
 */
export { S3InfraError, defaultS3Log, type S3InfraErrorCode, type S3Log } from './errors.ts';
export {
  ensureS3ProxyInstalled,
  s3proxyJar,
  s3proxyPaths,
  type S3ProxyInstallation,
  type S3ProxyPaths,
} from './install.ts';
export {
  S3PROXY_REGION,
  readOrCreateCredentials,
  startS3Proxy,
  type RunningS3Proxy,
  type S3Credentials,
  type S3ProxyOptions,
} from './server.ts';
export { ensureBucket, s3ClientConfig, type S3Endpoint } from './client.ts';
