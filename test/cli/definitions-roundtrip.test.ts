/** Issue 10 item 15: `keel get <kind> <name> -o yaml` applies again as is; `-f -` reads standard input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel, runCli } from '../helpers/cli.js';
import type { TestKeel } from '../helpers/keel.js';
import { setSecret, startPagingKeel } from '../helpers/paging.js';
import { SERVICE, ratioSlo } from '../slo/fixtures.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startPagingKeel();
  // The Channel below names this secret: a definition naming a missing secret is refused (it could page nobody).
  await setSecret(t, 'ops-slack-url', 'https://hooks.slack.example/ops');
});
afterAll(async () => t?.close());

// The real binary once (standard input of a process); the same main() in this process for the many round trips.
const bin = (args: string[], input?: string) => runCli(args, { url: t.url, key: t.adminKey, ...(input !== undefined ? { input } : {}) });
const cli = (args: string[], input?: string) => keel(args, { url: t.url, key: t.adminKey, ...(input !== undefined ? { stdin: input } : {}) });

// One document of every kind a tenant can define (OpenSLO and keel/v1), with metadata beyond the name.
const ALL_KINDS = [
  SERVICE,
  `apiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: latency\n  displayName: Checkout latency\n  labels: {team: shop}\nspec:\n  thresholdMetric:\n    metricSource:\n      type: keel\n      spec:\n        query: latency_ms\n        filter: service == "checkout"\n`,
  `apiVersion: openslo/v1\nkind: AlertCondition\nmetadata:\n  name: fast\nspec:\n  severity: page\n  condition:\n    kind: burnrate\n    op: gte\n    threshold: 10\n    lookbackWindow: 1h\n    alertAfter: 5m\n`,
  `apiVersion: openslo/v1\nkind: AlertNotificationTarget\nmetadata:\n  name: oncall\nspec:\n  target: pagerduty\n`,
  `apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata:\n  name: strict\nspec:\n  alertWhenBreaching: true\n  conditions:\n    - conditionRef: fast\n  notificationTargets:\n    - targetRef: oncall\n`,
  `apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: checkout-latency\nspec:\n  service: checkout\n  indicatorRef: latency\n  timeWindow:\n    - duration: 1M\n      isRolling: false\n      calendar:\n        startTime: "2026-01-01 00:00:00"\n        timeZone: Europe/Berlin\n  budgetingMethod: Timeslices\n  objectives:\n    - op: lte\n      value: 300\n      target: 0.95\n      timeSliceTarget: 0.9\n      timeSliceWindow: 5m\n  alertPolicies:\n    - alertPolicyRef: strict\n`,
  ratioSlo('checkout-availability', { breakdown: ['region'] }),
  `apiVersion: keel/v1\nkind: User\nmetadata: {name: erin}\nspec:\n  email: erin@example.com\n  name: Erin\n  timeZone: America/New_York\n  contactMethods:\n    - {name: mail, type: email, address: erin@example.com}\n  notificationRules:\n    - {after: 0m, contactMethod: mail}\n`,
  `apiVersion: keel/v1\nkind: Schedule\nmetadata: {name: primary}\nspec:\n  timeZone: Europe/Berlin\n  layers:\n    - name: days\n      users: [erin]\n      start: "2026-01-05"\n      turn: 1d\n      handoff: "09:00"\n`,
  `apiVersion: keel/v1\nkind: EscalationPolicy\nmetadata: {name: erin-first}\nspec:\n  repeat: 2\n  steps: [{notify: {users: [erin], schedules: [primary]}, wait: 15m}]\n`,
  `apiVersion: keel/v1\nkind: Service\nmetadata: {name: web}\nspec:\n  description: The website\n  escalationPolicy: erin-first\n  alertGrouping: {by: [alertname]}\n`,
  `apiVersion: keel/v1\nkind: Route\nmetadata: {name: web-team}\nspec: {matchers: ['team="web"'], service: web}\n`,
  `apiVersion: keel/v1\nkind: Silence\nmetadata: {name: quiet}\nspec: {matchers: ['env="dev"'], startsAt: "2026-01-01T00:00:00Z", endsAt: "2036-01-01T00:00:00Z", createdBy: ops, comment: dev is noisy}\n`,
  `apiVersion: keel/v1\nkind: Heartbeat\nmetadata: {name: nightly}\nspec: {service: web, interval: 25h}\n`,
  `apiVersion: keel/v1\nkind: Channel\nmetadata: {name: ops-slack}\nspec: {type: slack, webhookUrlSecret: ops-slack-url}\n`,
].join('---\n');

describe('definitions round trip through the CLI', () => {
  it('apply -f - reads the documents from standard input', async () => {
    const r = await bin(['apply', '-f', '-'], ALL_KINDS);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Applied: 15 created, 0 changed, 0 deleted, 0 unchanged\./);
  });

  it('every kind printed by `keel get <kind> <name> -o yaml` plans as unchanged and applies again after a delete', async () => {
    const list = JSON.parse((await cli(['get', '--json'])).stdout) as { definitions: { kind: string; name: string }[] };
    expect(list.definitions).toHaveLength(15);
    for (const { kind, name } of list.definitions) {
      const yaml = await cli(['get', kind, name, '-o', 'yaml']);
      expect(yaml.code, yaml.stderr).toBe(0);
      expect(yaml.stdout).toContain(`kind: ${kind}\n`);
      const plan = await cli(['plan', '-f', '-'], yaml.stdout);
      expect(plan.code, `${kind}/${name}: ${plan.stderr}\n${yaml.stdout}`).toBe(0);
      expect(plan.stdout, `${kind}/${name}`).toContain('Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged.');
    }
    // A leaf (nothing references it) deleted from the same YAML and created again from it.
    const slo = (await cli(['get', 'SLO', 'checkout-availability', '-o', 'yaml'])).stdout;
    expect(slo).toContain('displayName: availability');
    const del = await cli(['delete', '-f', '-'], slo);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toBe('deleted SLO/checkout-availability\n');
    const again = await cli(['apply', '-f', '-'], slo);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Applied: 1 created');
  });

  it('the whole tenant as one YAML stream (`keel get -o yaml`) plans as unchanged', async () => {
    const all = await cli(['get', '-o', 'yaml']);
    expect(all.code).toBe(0);
    const plan = await cli(['plan', '-f', '-'], all.stdout);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('Plan: 0 to create, 0 to change, 0 to delete, 15 unchanged.');
  });
});
