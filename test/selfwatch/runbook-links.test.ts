/**
 * Issue 15: each alert about Keel links to its written runbook page under docs/runbooks/ "and to
 * the automated runbook when runbooks exist". Keel's alerts carry the page (self-alerts.test.ts);
 * the page links to the runbook as code in examples/runbooks/ for the alerts that have one. The
 * pairs below are written by hand: an example added without a link from its page fails here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SELF_ALERT_RULES } from '../../src/selfwatch/thresholds.js';

const ROOT = join(import.meta.dirname, '../..');
const EXAMPLES = join(ROOT, 'examples/runbooks');

const AUTOMATED: Record<string, { page: string; example: string; trigger: string | null }> = {
  KeelDataDiskFilling: { page: 'disk-filling.md', example: 'keel-data-disk-filling.yaml', trigger: 'KeelDataDiskFilling' },
  KeelConsumerLagHigh: { page: 'consumer-lag.md', example: 'keel-consumer-lag.yaml', trigger: 'KeelConsumerLagHigh' },
  KeelLeaderLost: { page: 'leader-lost.md', example: 'keel-leader-lost.yaml', trigger: 'KeelLeaderLost' },
  // Needs the channel's endpoint as a parameter, so it is run by hand on the incident.
  KeelNotificationChannelFailing: { page: 'notification-channel-failing.md', example: 'keel-notification-channel-failing.yaml', trigger: null },
};

describe('alerts about Keel link to their automated runbooks', () => {
  it('every example under examples/runbooks/ belongs to one alert about Keel', () => {
    expect(
      readdirSync(EXAMPLES)
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
    ).toEqual(
      Object.values(AUTOMATED)
        .map((a) => a.example)
        .sort(),
    );
  });

  it.each(Object.entries(AUTOMATED))('%s: the alert’s runbook page links to its runbook as code, which triggers on the alert', (alert, a) => {
    const rule = SELF_ALERT_RULES.find((r) => r.alert === alert);
    expect(rule?.runbook).toBe(a.page);
    const page = readFileSync(join(ROOT, 'docs/runbooks', a.page), 'utf8');
    const link = `(../../examples/runbooks/${a.example})`;
    expect(page).toContain(link);
    expect(existsSync(resolve(ROOT, 'docs/runbooks', link.slice(1, -1)))).toBe(true);
    const yaml = readFileSync(join(EXAMPLES, a.example), 'utf8');
    if (a.trigger) expect(yaml).toContain(`labels: {alertname: ${a.trigger}}`);
    else expect(yaml).not.toContain('triggers:');
  });
});
