/** An SLO alert's key inside the SLO and its dedup key in the alert pipeline, by hand. */
import { describe, expect, it } from 'vitest';
import { alertKey, alertKeyParts, dedupKeyOfState } from '../../src/slo/evaluator.js';

describe('SLO alert keys', () => {
  it('splits an alert key into objective, policy and severity, a policy name with a slash included', () => {
    expect(alertKey(0, 'default', 'page')).toBe('0/default/page');
    expect(alertKeyParts('0/default/page')).toEqual({ objective: 0, policy: 'default', severity: 'page' });
    expect(alertKeyParts('2/team/fast/nodata')).toEqual({ objective: 2, policy: 'team/fast', severity: 'nodata' });
  });

  it('names the dedup key by the key’s last part: the severity, or nodata for the no-data alert', () => {
    expect(dedupKeyOfState('checkout', 1, { objective: 0, policy: 'default', alert_key: '0/default/page' })).toBe('slo/checkout/default/page');
    expect(dedupKeyOfState('checkout', 1, { objective: 0, policy: 'default', alert_key: '0/default/nodata' })).toBe('slo/checkout/default/nodata');
    expect(dedupKeyOfState('checkout', 2, { objective: 1, policy: 'default', alert_key: '1/default/ticket' })).toBe('slo/checkout#1/default/ticket');
  });
});
