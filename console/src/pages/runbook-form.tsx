/**
 * "Run a runbook", the console's manual trigger: pick a runbook (GET /v1/runbooks), fill the inputs
 * its typed parameters declare, then either dry-run it (POST /v1/runbooks/NAME/runs with
 * `dry_run`: every step resolved, nothing run, nothing created) or start it (the same call without
 * `dry_run`) and open the new run's page. A refused call keeps everything typed and shows the
 * API's message next to the field it names (`params.NAME`, `incident`, `runbook`).
 */
import { useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { href, navigate } from '../router';
import { Badge, Field, Loading, SelectField, useData } from '../ui';

type ParamValue = string | number | boolean;

interface Parameter {
  type: 'string' | 'number' | 'bool' | 'enum';
  description?: string;
  required: boolean;
  default?: ParamValue;
  values?: string[];
}

interface Runbook {
  name: string;
  spec: { description?: string; parameters?: Record<string, Parameter> };
}

interface DryRun {
  runbook: string;
  version: number;
  params: Record<string, ParamValue>;
  incident: { number: number } | null;
  steps: { name: string; kind: string; safe_to_repeat: boolean; resolved: Record<string, unknown> }[];
}

/** What a parameter's input starts with: its default, so what runs is what is on screen. */
const initialValues = (params: Record<string, Parameter>) => Object.fromEntries(Object.entries(params).map(([k, p]) => [k, p.default === undefined ? '' : String(p.default)]));

/**
 * The body's `params`: empty inputs are left out (the runbook's default or its "required" applies).
 * A number that does not parse is sent as typed, so the API refuses it with its own message.
 */
function paramsBody(declared: Record<string, Parameter>, values: Record<string, string>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, p] of Object.entries(declared)) {
    const v = values[k] ?? '';
    if (v === '') continue;
    if (p.type === 'bool') out[k] = v === 'true';
    else if (p.type === 'number') out[k] = v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    else out[k] = v;
  }
  return out;
}

function ParamInput({ name, p, value, onInput, error }: { name: string; p: Parameter; value: string; onInput(v: string): void; error: ApiError | undefined }) {
  const label = `${name}${p.required ? ' (required)' : ''}${p.description ? ` — ${p.description}` : ''}`;
  const field = `params.${name}`;
  if (p.type === 'bool' || p.type === 'enum') {
    const choices = p.type === 'bool' ? ['true', 'false'] : (p.values ?? []);
    const unset = p.required ? 'choose…' : '(not set)';
    const options = [...(p.default === undefined ? [{ value: '', label: unset }] : []), ...choices.map((c) => ({ value: c, label: c }))];
    return <SelectField label={label} name={field} idPrefix="run-" value={value} options={options} onInput={onInput} error={error} required={p.required} />;
  }
  return <Field label={label} name={field} idPrefix="run-" value={value} onInput={onInput} error={error} required={p.required} {...(p.type === 'number' ? { inputMode: 'decimal' as const } : {})} />;
}

function DryRunResult({ dry }: { dry: DryRun }) {
  return (
    <section aria-labelledby="dry-run-h" data-testid="dry-run">
      <h3 id="dry-run-h">
        Dry run of {dry.runbook} (version {dry.version}): nothing was run
      </h3>
      <p class="muted wrap-anywhere">
        Parameters:{' '}
        {Object.entries(dry.params)
          .map(([k, v]) => `${k} = ${String(v)}`)
          .join(', ') || 'none'}
        {dry.incident ? ` · incident #${dry.incident.number}` : ''}
      </p>
      <ol class="steps">
        {dry.steps.map((s) => (
          <li data-step={s.name}>
            <strong>{s.name}</strong> <Badge text={s.kind} tone="neutral" /> <span class="muted">{s.safe_to_repeat ? 'safe to repeat' : 'not safe to repeat'}</span>
            <pre class="output" tabIndex={0} aria-label={`Step ${s.name}, resolved`}>
              {JSON.stringify(s.resolved, null, 2)}
            </pre>
          </li>
        ))}
      </ol>
    </section>
  );
}

export function RunForm() {
  const list = useData(() => get<{ items: Runbook[] }>('/v1/runbooks'), [], null);
  const [name, setName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [incident, setIncident] = useState('');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [dry, setDry] = useState<DryRun | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const runbooks = list.data?.items ?? [];
  const declared = runbooks.find((r) => r.name === name)?.spec.parameters ?? {};

  const pick = (n: string) => {
    setName(n);
    setValues(initialValues(runbooks.find((r) => r.name === n)?.spec.parameters ?? {}));
    setError(undefined);
    setDry(undefined);
  };

  const send = async (dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    setDry(undefined);
    try {
      const body = { params: paramsBody(declared, values), ...(incident.trim() ? { incident: incident.trim() } : {}), ...(dryRun ? { dry_run: true } : {}) };
      const res = await post(`/v1/runbooks/${encodeURIComponent(name)}/runs`, body);
      if (dryRun) setDry(res as DryRun);
      else navigate(href(`/runbooks/runs/${encodeURIComponent((res as { id: string }).id)}`));
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e)));
    } finally {
      setBusy(false);
    }
  };

  // A message the fields do not show (none of them is named) shows under the buttons.
  const shown = ['runbook', 'incident', ...Object.keys(declared).map((k) => `params.${k}`)];
  const unplaced = error && !shown.some((f) => error.field(f)) ? error.message : undefined;
  const description = runbooks.find((r) => r.name === name)?.spec.description;

  return (
    <section class="card" aria-labelledby="run-form-h">
      <h2 id="run-form-h">Run a runbook</h2>
      {list.error ? (
        <p class="error" role="alert">
          {list.error.message}
        </p>
      ) : !list.data ? (
        <Loading what="runbooks" />
      ) : runbooks.length === 0 ? (
        <p class="muted">No runbooks yet: apply one with keel apply -f.</p>
      ) : (
        <form
          aria-label="Run a runbook"
          // The API judges the values (its messages name the field), not the browser.
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void send(false);
          }}
        >
          <SelectField
            label="Runbook"
            name="runbook"
            idPrefix="run-"
            value={name}
            options={[{ value: '', label: 'choose…' }, ...runbooks.map((r) => ({ value: r.name, label: r.name }))]}
            onInput={pick}
            error={error}
            required
          />
          {description ? <p class="muted">{description}</p> : null}
          {Object.entries(declared).map(([k, p]) => (
            <ParamInput name={k} p={p} value={values[k] ?? ''} onInput={(v) => setValues({ ...values, [k]: v })} error={error} />
          ))}
          <Field label="Incident (number or id, optional)" name="incident" idPrefix="run-" value={incident} onInput={setIncident} error={error} />
          <div class="actions-row">
            <button type="button" disabled={busy || !name} onClick={() => void send(true)}>
              Dry run
            </button>
            <button type="submit" class="primary" disabled={busy || !name}>
              Run
            </button>
          </div>
          {unplaced ? (
            <p class="error" role="alert">
              {unplaced}
            </p>
          ) : null}
        </form>
      )}
      {dry ? <DryRunResult dry={dry} /> : null}
    </section>
  );
}
