/** Bad values of the fields issue 16 added (acknowledgementTimeout, alertWhenNoData) are refused at apply with the field's path. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestKeel } from '../helpers/keel.js';
import { apply, startPagingKeel } from '../helpers/paging.js';
import { ratioSlo } from '../slo/fixtures.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startPagingKeel();
});
afterAll(async () => {
  await t?.close();
});

const policy = (timeout: string) => `apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: p}
spec: {acknowledgementTimeout: ${timeout}, steps: [{notify: {users: []}, wait: 5m}]}
`;

describe('new paging fields with bad values', () => {
  it.each(['0s', '8d', 'soon'])('acknowledgementTimeout %s is a 4xx naming the field and its bounds', async (v) => {
    const r = await apply(t, policy(v));
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([expect.objectContaining({ path: 'spec.acknowledgementTimeout', message: 'a duration from 1s to 7d, e.g. 30m' })]);
  });
  it('alertWhenNoData that is not a boolean is a 4xx naming the field', async () => {
    const r = await apply(
      t,
      ratioSlo('x', {
        extra: `  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: fast-burn}
      spec:
        alertWhenNoData: "no"
        conditions:
          - kind: AlertCondition
            metadata: {name: fast}
            spec: {severity: page, condition: {kind: burnrate, op: gt, threshold: 14.4, lookbackWindow: 1h}}
`,
      }),
    );
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([expect.objectContaining({ path: 'spec.alertPolicies[0].spec.alertWhenNoData', message: 'Invalid input: expected boolean, received string' })]);
  });
});
