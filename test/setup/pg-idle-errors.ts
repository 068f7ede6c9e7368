// Runs in every test worker before its file (vitest.config.ts `setupFiles`).
//
// Each test file drops its own database at the end (`DROP DATABASE ... WITH (FORCE)`), which terminates the connections
// still open to it (57P01). A pool client idle at that moment emits 'error'; node-postgres re-emits it on its pool,
// and a pool without an 'error' listener turns it into an uncaught exception, which fails the whole run although every
// test passed (seen on CI under load, from a different file each time). The services' own pools log these
// (packages/common/src/migrations.ts); here every pool a test creates ignores them, in one place.
import pg from 'pg';

const Pool = pg.Pool;
class TestPool extends Pool {
  constructor(config?: pg.PoolConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}
pg.Pool = TestPool as typeof pg.Pool;
