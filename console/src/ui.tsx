/** Shared pieces of the pages: data loading with polling, form fields with the API's messages. */
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Session } from './api';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  return useContext(SessionContext)!;
}

export function can(s: Session, permission: string): boolean {
  return s.permissions.includes(permission);
}

/** How often pages refresh while visible (live updates by polling; docs/console.md). */
export const POLL_MS = 5000;

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  reload(): Promise<void>;
}

/**
 * Loads `fn` now, whenever `deps` change, and every `pollMs` while the tab is visible. A failed
 * refresh keeps the last data on screen and shows the error beside it.
 */
export function useData<T>(fn: () => Promise<T>, deps: unknown[], pollMs: number | null = POLL_MS): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const d = await fnRef.current();
      if (mine === seq.current) {
        setData(d);
        setError(undefined);
      }
    } catch (e) {
      if (mine === seq.current) setError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e)));
    }
  }, []);
  useEffect(() => {
    setData(undefined);
    void reload();
    if (pollMs === null) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') void reload();
    }, pollMs);
    return () => clearInterval(t);
  }, deps);
  return { data, error, reload };
}

export function ErrorBox({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Keel`;
  }, [title]);
  return (
    <section>
      <header class="page-head">
        <h1>{title}</h1>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** The API's message for a field, under it (the input names it with aria-describedby). */
function FieldMessage({ id, msg }: { id: string; msg: string | undefined }) {
  return msg ? (
    <span class="field-error" id={`${id}-err`}>
      {msg}
    </span>
  ) : null;
}

/** A labelled input whose API error (by field path) shows next to it. */
export function Field(props: {
  label: string;
  name: string;
  idPrefix?: string;
  value: string;
  onInput(v: string): void;
  error?: ApiError | undefined;
  type?: 'text' | 'email' | 'password' | 'number';
  inputMode?: 'decimal';
  required?: boolean;
  placeholder?: string;
  autocomplete?: string;
}) {
  // Unique per page: several forms may have a field of the same name.
  const id = `f-${props.idPrefix ?? ''}${props.name}`;
  const msg = props.error?.field(props.name);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={(props.type ?? 'text') as 'text'}
        inputMode={props.inputMode}
        value={props.value}
        required={props.required}
        placeholder={props.placeholder}
        autocomplete={props.autocomplete}
        aria-invalid={msg ? 'true' : undefined}
        aria-describedby={msg ? `${id}-err` : undefined}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
      <FieldMessage id={id} msg={msg} />
    </div>
  );
}

/** A labelled select whose API error (by field path) shows next to it, as `Field` does. */
export function SelectField(props: {
  label: string;
  name: string;
  idPrefix?: string;
  value: string;
  options: { value: string; label: string }[];
  onInput(v: string): void;
  error?: ApiError | undefined;
  required?: boolean;
}) {
  const id = `f-${props.idPrefix ?? ''}${props.name}`;
  const msg = props.error?.field(props.name);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        required={props.required}
        aria-invalid={msg ? 'true' : undefined}
        aria-describedby={msg ? `${id}-err` : undefined}
        onChange={(e) => props.onInput((e.target as HTMLSelectElement).value)}
      >
        {props.options.map((o) => (
          <option value={o.value}>{o.label}</option>
        ))}
      </select>
      <FieldMessage id={id} msg={msg} />
    </div>
  );
}

/**
 * A button that calls the API: disabled while the call runs; its error shows beside it. Nothing
 * typed elsewhere in the form is touched when the call fails.
 */
export function Action(props: { label: string; run(): Promise<unknown>; onDone?(): void; kind?: 'primary' | 'danger'; title?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  return (
    <span class="action">
      <button
        type="button"
        class={props.kind ?? ''}
        disabled={busy}
        title={props.title}
        onClick={async () => {
          setBusy(true);
          setError(undefined);
          try {
            await props.run();
            props.onDone?.();
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {props.label}
      </button>
      {error ? (
        <span class="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </span>
  );
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function Badge({ text, tone }: { text: string; tone?: string }) {
  return <span class={`badge ${tone ?? text.toLowerCase()}`}>{text}</span>;
}

export function pct(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(digits)}%`;
}
