/**
 * The modules behind Keel's guarantees that mutation testing covers: what to mutate and which
 * tests may kill the mutants (tests that import src/ directly; tests that run dist/ in worker
 * threads or child processes cannot see a mutant). One Stryker run per module, with its own
 * incremental file in test/mutation/incremental/ (committed: a rerun after a small change tests
 * only the mutants that change touched).
 */
export const MODULES = {
  processing: {
    mutate: ['src/processing/subscribed-runner.ts', 'src/processing/counted-batches.ts', 'src/processing/positions.ts', 'src/processing/gathering.ts'],
    // test/dist/exactly-once.test.ts kills the same mutants on a real JetStream, at ~10 s a run.
    testFiles: ['test/processing/*.test.ts'],
    // A mutant that stops progress fails its test after 3 s instead of 10.
    env: { KEEL_TEST_WAIT_MS: '3000' },
    timeoutMS: 10_000,
  },
  'slo-counter-writer': {
    mutate: ['src/slo/counter-writer.ts'],
    testFiles: ['test/slo/threshold-boundaries.test.ts', 'test/slo/counter-writer.test.ts', 'test/slo/counter-writer-order.test.ts'],
  },
  'slo-math': {
    mutate: ['src/slo/math.ts', 'src/slo/alert-rules.ts'],
    testFiles: ['test/slo/alert-rules.test.ts', 'test/slo/threshold-boundaries.test.ts'],
  },
  audit: {
    mutate: ['src/audit/audit-log.ts', 'src/audit/verify-chain.ts'],
    testFiles: ['test/audit/tamper-columns.test.ts', 'test/audit/audit-log.test.ts'],
  },
  auth: {
    // The permission table is module-level data (static mutants). Here (vitest 4) every static
    // mutant "survived" (the runner seems not to re-evaluate the module per mutant) even though the
    // matrix test fails when the table is changed by hand; so they stay ignored (`static: true`
    // would turn them on) and test/auth/permissions.test.ts guards the table.
    mutate: ['src/auth/permissions.ts', 'src/auth/authenticator.ts'],
    testFiles: ['test/auth/permissions.test.ts', 'test/auth/authenticator.test.ts'],
  },
  'escalation-policy': {
    mutate: ['src/paging/escalation/policy.ts'],
    testFiles: ['test/paging/escalation/policy.test.ts'],
  },
  // The paging stack on SQLite with a fake clock (KEEL_TEST_ENGINES keeps other tests' PostgreSQL
  // halves out), and waits of 2 s instead of 15 s: a mutant that stops a page or a
  // step fails its test quickly instead of running into Stryker's timeout (which restarts vitest).
  'escalation-service': {
    mutate: ['src/paging/escalation/escalation-service.ts'],
    // The whole file (until stop 12 only the firing of a step and the failed-page hand-over were
    // mutated): start, halt, the acknowledgement timeout, the scheduler round and adoptUnpaged too.
    // escalation-timing is left out: what it checks, escalation-service.test.ts checks as well
    // (each file's stack costs every mutant its setup). scheduler.test.ts drives the scheduler's
    // loop with fake timers: its pauses, backoff, stopping and adoption.
    testFiles: [
      'test/paging/escalation/escalation-service.test.ts',
      'test/paging/escalation/ack-timeout.test.ts',
      'test/paging/escalation/escalation-lifecycle.test.ts',
      'test/paging/escalation/scheduler.test.ts',
    ],
    env: { KEEL_TEST_WAIT_MS: '2000', KEEL_TEST_ENGINES: 'sqlite' },
    timeoutMS: 10_000,
  },
  idempotency: {
    mutate: ['src/log/jetstream/idempotency.ts'],
    testFiles: ['test/ingest/idempotency-answers.test.ts'],
  },
  // Which chunks of a batch the stream holds, judged by the leader, not by a replica that may lag or disagree.
  'chunk-search': {
    mutate: ['src/log/jetstream/chunk-search.ts'],
    testFiles: ['test/log/chunk-search.test.ts'],
  },
  quotas: {
    mutate: ['src/ingest/token-bucket.ts', 'src/ingest/quotas.ts'],
    testFiles: ['test/ingest/token-bucket.test.ts', 'test/ingest/quotas.test.ts'],
  },
  rotation: {
    mutate: ['src/paging/oncall/rotation.ts'],
    testFiles: ['test/paging/oncall/rotation.test.ts', 'test/paging/oncall/rotation-edges.test.ts'],
  },
  // Which leftover command a restarted Keel kills: never a process that only reuses the pid.
  'runbook-leftover': {
    mutate: ['src/runbooks/leftover-process.ts'],
    testFiles: ['test/runbooks/leftover-process.test.ts'],
  },
};
