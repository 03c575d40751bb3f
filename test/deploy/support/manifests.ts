/** Renders the Kustomize overlays with `kubectl kustomize` and validates objects against the API schemas. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const K8S = `${ROOT}deploy/kubernetes`;
export const OVERLAYS = ['base', 'overlays/small', 'overlays/large'];

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };

export function render(dir: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', `${K8S}/${dir}`], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`${dir}: ${d.errors[0]!.message}`);
    return d.toJS() as K8sObject;
  });
}

/**
 * The module of kubernetes-models (Kubernetes API schemas) or @kubernetes-models/prometheus-operator
 * (the ServiceMonitor and PrometheusRule CRDs) that models an apiVersion/kind.
 */
function modelModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

/** Throws with the schema's message when the object does not validate. */
export async function validateObject(o: K8sObject): Promise<void> {
  const mod = (await import(modelModule(o.apiVersion, o.kind))) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[o.kind];
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}
