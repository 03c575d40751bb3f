import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start servers and child processes; forks isolate them.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // Every Keel a test starts (in process or spawned, which inherit the environment) checks its
    // JSON answers against the schemas its routes declare: a mismatch is a 500 the test sees.
    env: { KEEL_CHECK_RESPONSES: '1' },
  },
});
