import type { Logger } from './logger.ts';

/**
 * Installs the graceful shutdown of a service entry point: on the first SIGTERM or SIGINT, runs
 * `steps` in order (close the server first, then the clients it used), then exits 0; a failing step is
 * logged and the process exits 1. Later signals are ignored while it runs.
 */
export function onShutdown(logger: Logger, steps: ReadonlyArray<() => unknown>): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info('shutting down', { signal });
    try {
      for (const step of steps) await step();
      process.exit(0);
    } catch (err) {
      logger.error('shutdown failed', { err });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
