/**
 * deploy/kubernetes: every overlay renders with `kubectl kustomize`, every object validates
 * against the Kubernetes 1.33 API schemas of kubernetes-models 4.5.1 (the last release that installs on Node 20 without an engine warning) and the Prometheus Operator
 * CRDs, and the invariants that keep Keel up hold in every overlay. The lag autoscaler is checked
 * against the metrics a running Keel worker really exports.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { K8S, OVERLAYS, ROOT, render, validateObject, type K8sObject } from './support/manifests.js';
import { startAndScrape, type LiveKeel } from './support/live-metrics.js';

const ROLES = ['ingest', 'worker', 'evaluator', 'api'];

function byKind(objs: K8sObject[], kind: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind);
}

function one(objs: K8sObject[], kind: string, name: string): K8sObject {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

function matches(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const rendered = new Map(OVERLAYS.map((o) => [o, render(o)]));

describe('Kubernetes manifests', () => {
  it('renders every overlay with kubectl kustomize', () => {
    for (const [overlay, objs] of rendered) {
      const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(kinds, overlay).toEqual(
        expect.arrayContaining([
          ...ROLES.flatMap((r) => [`Deployment/keel-${r}`, `Service/keel-${r}`, `PodDisruptionBudget/keel-${r}`]),
          'Job/keel-migrate',
          'HorizontalPodAutoscaler/keel-ingest',
          'HorizontalPodAutoscaler/keel-worker',
          'ServiceMonitor/keel',
          'PrometheusRule/keel',
          'NetworkPolicy/keel-default-deny',
          'ConfigMap/keel-config',
        ]),
      );
    }
  });

  it('validates every object against the API schemas', async () => {
    for (const [overlay, objs] of rendered) {
      for (const o of objs) {
        await expect(
          validateObject(o).then(() => 'valid'),
          `${overlay}: ${o.kind}/${o.metadata.name}`,
        ).resolves.toBe('valid');
      }
    }
  });

  it('validates against the Kubernetes 1.33 API, the version deploy/kubernetes/README.md states', () => {
    // kubernetes-models' README badge still says 1.27.1; its schemas are newer. Pinned by fields:
    // Lifecycle.stopSignal arrived in 1.33, PodSpec.hostnameOverride in 1.34. An upgrade of the
    // package that changes the version fails here, so the stated version is updated with it.
    const schema = (name: string) => readFileSync(new URL(`../../node_modules/kubernetes-models/_schemas/${name}.js`, import.meta.url), 'utf8');
    expect(schema('IoK8sApiCoreV1Lifecycle')).toContain('"stopSignal"');
    expect(schema('IoK8sApiCoreV1PodSpec')).not.toContain('"hostnameOverride"');
    expect(readFileSync(new URL('../../deploy/kubernetes/README.md', import.meta.url), 'utf8')).toContain('Kubernetes 1.33 API schemas');
  });

  it('the schema validation refuses a broken object', async () => {
    const deployment = structuredClone(one(rendered.get('base')!, 'Deployment', 'keel-ingest'));
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    await expect(validateObject(deployment)).rejects.toThrow(/containerPort must be integer/);
    const hpa = structuredClone(one(rendered.get('base')!, 'HorizontalPodAutoscaler', 'keel-worker'));
    delete hpa.spec.scaleTargetRef;
    await expect(validateObject(hpa)).rejects.toThrow(/scaleTargetRef/);
  });

  it('every role and the migration Job have probes, requests, a PDB, and nothing runs as root', () => {
    for (const [overlay, objs] of rendered) {
      const pdbs = byKind(objs, 'PodDisruptionBudget');
      const workloads = [...ROLES.map((r) => one(objs, 'Deployment', `keel-${r}`)), one(objs, 'Job', 'keel-migrate')];
      for (const w of workloads) {
        const where = `${overlay}: ${w.kind}/${w.metadata.name}`;
        const pod = w.spec.template.spec;
        expect(pod.securityContext.runAsNonRoot, where).toBe(true);
        expect(pod.securityContext.runAsUser, where).toBeGreaterThan(0);
        expect(pod.automountServiceAccountToken, where).toBe(false);
        for (const c of pod.containers) {
          expect(c.securityContext, where).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
          expect(c.securityContext.runAsUser ?? pod.securityContext.runAsUser, where).not.toBe(0);
          expect(c.resources?.requests?.cpu, where).toBeTruthy();
          expect(c.resources?.requests?.memory, where).toBeTruthy();
          expect(c.resources?.limits?.memory, where).toBeTruthy();
          // Secrets by reference only: every secret-looking variable comes from a Secret.
          for (const e of c.env ?? []) if (/SECRET|PASSWORD|TOKEN|URL/.test(e.name)) expect(e.valueFrom?.secretKeyRef, `${where} env ${e.name}`).toBeTruthy();
        }
        if (w.kind !== 'Deployment') continue;
        const [c] = pod.containers;
        const role = w.metadata.name.replace('keel-', '');
        expect(c.args, where).toEqual(expect.arrayContaining(['start', '--role', role]));
        expect(c.livenessProbe?.httpGet?.path, where).toBe('/healthz');
        expect(c.readinessProbe?.httpGet?.path, where).toBe('/readyz');
        expect(w.spec.replicas, where).toBeGreaterThanOrEqual(2);
        const covering = pdbs.filter((p) => matches(p.spec.selector.matchLabels, w.spec.template.metadata.labels));
        expect(covering.length, `${where}: PodDisruptionBudget`).toBe(1);
      }
      expect(byKind(objs, 'Secret'), `${overlay}: no Secret is shipped`).toEqual([]);
    }
  });

  it('the worker autoscaler never exceeds the partition count, the ingest autoscaler scales on CPU', () => {
    for (const [overlay, objs] of rendered) {
      const config = parse(one(objs, 'ConfigMap', 'keel-config').data!['keel.yaml']!) as { nats: { partitions: number } };
      const worker = one(objs, 'HorizontalPodAutoscaler', 'keel-worker');
      expect(worker.spec.maxReplicas, overlay).toBeLessThanOrEqual(config.nats.partitions);
      const ingest = one(objs, 'HorizontalPodAutoscaler', 'keel-ingest');
      expect(ingest.spec.metrics, overlay).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    }
  });

  it('the ServiceMonitor scrapes every role through a port its Services have', () => {
    for (const [overlay, objs] of rendered) {
      const sm = one(objs, 'ServiceMonitor', 'keel');
      const services = byKind(objs, 'Service').filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels));
      expect(services.map((s) => s.metadata.name).sort(), overlay).toEqual(ROLES.map((r) => `keel-${r}`).sort());
      for (const s of services)
        expect(
          s.spec.ports.map((p: { name: string }) => p.name),
          overlay,
        ).toContain(sm.spec.endpoints[0].port);
    }
  });

  it('the PrometheusRule is the rules file deploy/prometheus/keel-alerts.yaml', () => {
    execFileSync('node', [`${ROOT}scripts/prometheusrule.mjs`, '--check']);
    const rules = parse(readFileSync(`${ROOT}deploy/prometheus/keel-alerts.yaml`, 'utf8')) as { groups: unknown };
    for (const [, objs] of rendered) expect(one(objs, 'PrometheusRule', 'keel').spec.groups).toEqual(rules.groups);
  });

  describe('against a running Keel', () => {
    let live: LiveKeel;
    beforeAll(async () => {
      live = await startAndScrape(['worker']);
    }, 120_000);
    afterAll(async () => live?.stop());

    it('the lag autoscaler targets the consumer-lag metric a Keel worker really exports, through the adapter rule', () => {
      const worker = live.scrapes.get('worker')!;
      const hpa = one(rendered.get('base')!, 'HorizontalPodAutoscaler', 'keel-worker');
      const external = hpa.spec.metrics.find((m: { type: string }) => m.type === 'External').external.metric.name as string;
      const adapter = parse(readFileSync(`${K8S}/prometheus-adapter/values.yaml`, 'utf8')) as {
        rules: { external: { seriesQuery: string; name: { as: string }; metricsQuery: string }[] };
      };
      const rule = adapter.rules.external.find((r) => r.name.as === external);
      expect(rule, `an adapter rule serves ${external}`).toBeTruthy();
      const series = /^(\w+)/.exec(rule!.seriesQuery)![1]!;
      expect(worker.families).toContain(series);
      // Samples with the labels the adapter's query groups by (consumer, partition).
      expect(worker.text).toMatch(new RegExp(`^${series}\\{consumer="[^"]+",partition="\\d+"\\} \\d+`, 'm'));
      expect(rule!.metricsQuery).toContain('max by (namespace, consumer, partition)');
    });
  });
});
