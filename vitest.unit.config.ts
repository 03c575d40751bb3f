import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`: the pure tests only (domain logic with explicit inputs and a fake clock, no
 * store, no server, no child process, no build), in seconds. A new pure test file joins the list.
 */
export default defineConfig({
  test: {
    include: [
      'test/auth/lockout.test.ts',
      'test/auth/passwords.test.ts',
      'test/auth/permissions.test.ts',
      'test/capacity/usage-fold.test.ts',
      'test/cel/compile.test.ts',
      'test/cluster/doctor-checks.test.ts',
      'test/cluster/log-retention.test.ts',
      'test/core/background-loop.test.ts',
      'test/core/json-limits.test.ts',
      'test/core/time-input.test.ts',
      'test/core/waker.test.ts',
      'test/paging/escalation/policy.test.ts',
      'test/paging/incidents/metrics-postmortem.test.ts',
      'test/ingest/parse-batch.test.ts',
      'test/ingest/quotas.test.ts',
      'test/ingest/time.test.ts',
      'test/ingest/token-bucket.test.ts',
      'test/log/jetstream-subjects.test.ts',
      'test/log/partition-balance.test.ts',
      'test/log/stream-quorum.test.ts',
      'test/paging/oncall/rotation-edges.test.ts',
      'test/paging/oncall/rotation.test.ts',
      'test/processing/progress-watchdog.test.ts',
      'test/paging/routing/routing.test.ts',
      'test/runbooks/redaction.test.ts',
      'test/runtime/roles-and-redaction.test.ts',
      'test/slo/alert-rules.test.ts',
      'test/slo/event-scanner.test.ts',
      'test/slo/threshold-boundaries.test.ts',
      'test/slo/windows.test.ts',
      'test/lint/lint-rules.test.ts',
    ],
    pool: 'threads',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
