// @ts-check
/**
 * StrykerJS, shared settings for `npm run test:mutation` (scripts/mutation.mjs runs it once per
 * module of test/mutation/modules.mjs with that module's files to mutate and tests to run).
 * Mutants are made in src/ and the tests that import src/ directly observe them; tests that run
 * the built dist/ (worker threads, child processes) are left out of the modules' test lists.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // Two cores shared with other work: one test runner at a time.
  concurrency: 1,
  timeoutMS: 30_000,
  timeoutFactor: 2,
  incremental: true,
  // Stryker rewrites a tsconfig's relative paths with the TypeScript API, which TypeScript 7
  // (tsgo) no longer has; ours has none to rewrite, so point it at a file that does not exist.
  tsconfigFile: 'tsconfig.stryker-none.json',
  // Static mutants (module-level tables) need a fresh module per run: slow, so off by default and
  // on for modules whose guarantee IS a table (the permission table): see test/mutation/modules.mjs.
  ignoreStatic: process.env.STRYKER_STATIC !== 'true',
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: process.env.STRYKER_JSON_REPORT ?? 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: (process.env.STRYKER_JSON_REPORT ?? 'reports/mutation/mutation.json').replace(/\.json$/, '.html') },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0, reportScoreTable: true, reportMutants: true },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['reports', 'keel-data', 'coverage', '.vitest-tmp'],
};
