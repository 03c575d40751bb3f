import { describe, expect, it } from 'vitest';
import { runbookKind } from '../../src/runbooks/kind.js';

const kind = runbookKind();

function doc(spec: Record<string, unknown>) {
  return { apiVersion: 'keel/v1', kind: 'Runbook', metadata: { name: 'rb' }, spec };
}

function errors(spec: Record<string, unknown>) {
  const r = kind.parse(doc(spec));
  return r.ok ? [] : r.errors.map((e) => `${e.path.join('.')}: ${e.message}`);
}

const base = {
  parameters: { tenant: { type: 'string', required: true }, mode: { type: 'enum', values: ['soft', 'hard'], default: 'soft' } },
  steps: [
    { name: 'check', http: { url: 'http://127.0.0.1:9/health?t={{ params.tenant }}' }, safeToRepeat: true, retries: { attempts: 2, backoff: '1s' } },
    { name: 'decide', condition: { if: 'steps.check.output.status == 200', else: 'end' } },
    { name: 'note', keel: { action: 'incident.note', text: 'health was {{ steps.check.output.status }} for {{ alert.labels.service }}' } },
  ],
};

describe('Runbook kind', () => {
  it('parses a valid runbook with defaults filled in', () => {
    const r = kind.parse(doc(base));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec.steps[0]).toMatchObject({ name: 'check', safeToRepeat: true, retries: { attempts: 2, backoff: '1s', maxBackoff: '5m' }, http: { method: 'GET', headers: {} } });
    expect(r.spec.steps[2]!.safeToRepeat).toBe(false);
  });

  it('refuses an unknown parameter, step or field in a template, naming its path', () => {
    expect(errors({ steps: [{ name: 'a', http: { url: 'http://x/{{ params.tenat }}' } }] })).toEqual([
      'spec.steps.0.http.url: {{ params.tenat }}: unknown parameter "tenat" (the runbook declares none)',
    ]);
    expect(errors({ ...base, steps: [base.steps[0], { name: 'b', http: { url: 'http://x/', headers: { 'X-A': '{{ steps.chek.output.status }}' } } }] })).toEqual([
      'spec.steps.1.http.headers.X-A: {{ steps.chek.output.status }}: unknown step "chek": a template may only read steps before its own (check)',
    ]);
    expect(errors({ ...base, steps: [base.steps[0], { name: 'b', keel: { action: 'incident.note', text: '{{ steps.check.output.status }} {{ steps.check.outptu.x }}' } }] })).toEqual([
      'spec.steps.1.keel.text: {{ steps.check.outptu.x }}: "steps.check.outptu.x": write steps.check.output.FIELD',
    ]);
    expect(
      errors({
        steps: [
          { name: 'a', command: { argv: ['/bin/echo', 'x'] } },
          { name: 'b', keel: { action: 'incident.note', text: '{{ steps.a.output.exitcode }}' } },
        ],
      }),
    ).toEqual(['spec.steps.1.keel.text: {{ steps.a.output.exitcode }}: unknown field "exitcode" of step "a" (its output has exit_code, stdout, stderr)']);
    expect(errors({ steps: [{ name: 'a', keel: { action: 'incident.note', text: '{{ alert.lables.x }} {{ secrets.token }}' } }] })).toEqual([
      'spec.steps.0.keel.text: {{ alert.lables.x }}: unknown alert field "lables" (fields: labels, summary, severity, source, dedup_key, status)',
      'spec.steps.0.keel.text: {{ secrets.token }}: secrets may only be used in http and command steps',
    ]);
  });

  it('refuses a step reading a later step, a backward skip, and CEL over unknown names', () => {
    expect(
      errors({
        steps: [
          { name: 'a', http: { url: 'http://x/{{ steps.b.output.status }}' } },
          { name: 'b', http: { url: 'http://x/' } },
        ],
      }),
    ).toEqual(['spec.steps.0.http.url: {{ steps.b.output.status }}: unknown step "b": a template may only read steps before its own']);
    expect(
      errors({
        steps: [
          { name: 'a', http: { url: 'http://x/' } },
          { name: 'c', condition: { if: 'params.x == 1', else: 'a' } },
        ],
      }),
    ).toEqual(['spec.steps.1.condition.if: unknown parameter "x" (the runbook declares none)', 'spec.steps.1.condition.else: "a" is not after this step: a condition only skips forward']);
    expect(errors({ steps: [{ name: 'w', wait: { until: 'params.x > 1' }, timeout: '5m' }] })).toEqual([
      'spec.steps.0.wait.until: "params.x": a wait reads live figures only: slo["NAME"].burn_rate | budget_remaining | compliance or limits["ID"].utilisation | usage | capacity',
    ]);
    // A limit's utilisation is a live figure too; an unknown field of it is refused with the step's path.
    expect(errors({ steps: [{ name: 'w', wait: { until: 'limits["log.disk"].utilisation < 0.8 && slo["checkout"].burn_rate < 1' }, timeout: '5m' }] })).toEqual([]);
    expect(errors({ steps: [{ name: 'w', wait: { until: 'limits["log.disk"].percent < 80' }, timeout: '5m' }] })).toEqual([
      'spec.steps.0.wait.until: "limits.log.disk.percent": a wait reads live figures only: slo["NAME"].burn_rate | budget_remaining | compliance or limits["ID"].utilisation | usage | capacity',
    ]);
    expect(errors({ steps: [{ name: 'w', wait: { until: 'slo["checkout"].burn_rate < 1' } }] })).toEqual(['spec.steps.0.timeout: a wait until a condition needs a timeout']);
  });

  it('refuses steps with no kind or two kinds, duplicate names, bad parameters and approvals without a timeout', () => {
    expect(errors({ steps: [{ name: 'a' }, { name: 'a', http: { url: 'x' }, wait: { duration: '1s' } }] })).toEqual([
      'spec.steps.0: a step has exactly one of http, command, keel, wait, approval, condition',
      'spec.steps.1: a step has exactly one of http, command, keel, wait, approval, condition (this one has http, wait)',
      'spec.steps.1.name: step "a" appears twice',
    ]);
    expect(errors({ parameters: { n: { type: 'number', default: 'x' }, e: { type: 'enum', values: ['a'], default: 'b' } }, steps: [{ name: 'ok', approval: { role: 'responder' } }] })).toEqual([
      'spec.parameters.n.default: a number',
      'spec.parameters.e.default: one of a',
      'spec.steps.0.timeout: an approval needs a timeout',
    ]);
    expect(errors({ steps: [{ name: 'a', http: { url: 'x' }, timeout: '9d' }] })).toEqual(['spec.steps.0.timeout: a duration from 1ms to 7d, e.g. 30s']);
  });
});
