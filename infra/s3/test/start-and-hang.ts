// Test helper for s3proxy.test.ts: starts S3Proxy on the port and data folder given as arguments, prints the
// JVM's pid on stdout and then waits forever, so the test can SIGKILL this Node process and watch the JVM go.
import { startS3Proxy } from '../server.ts';

const [port, dataDir] = process.argv.slice(2);
const server = await startS3Proxy({ port: Number(port), dataDir: String(dataDir), log: () => undefined });
process.stdout.write(`${server.pid}\n`);
setInterval(() => undefined, 60_000);
