/** The audit log: filters in the URL, paged by sequence number; verify the hash chain. */
import { useState } from 'preact/hooks';
import { get, qs } from '../api';
import { setQuery, useLocation } from '../router';
import { Action, ErrorBox, Loading, Page, when, useData } from '../ui';

export function Audit() {
  const { query } = useLocation();
  const f = { since: query.get('since') ?? '7d', actor: query.get('actor') ?? '', action: query.get('action') ?? '', target: query.get('target') ?? '', after: query.get('after') ?? '' };
  const list = useData(() => get(`/v1/audit${qs({ ...f, limit: 100 })}`), [f.since, f.actor, f.action, f.target, f.after], null);
  const [verify, setVerify] = useState<any>(undefined);
  return (
    <Page title="Audit log" actions={<Action label="Verify the chain" run={async () => setVerify(await get('/v1/audit/verify'))} />}>
      {verify ? (
        <p role="status" class={verify.ok ? 'ok' : 'error'} data-testid="verify-result">
          {verify.ok ? `Chain intact: ${verify.checked ?? verify.entries ?? ''} entries checked.` : `Chain broken: ${JSON.stringify(verify.problem ?? verify.first_problem ?? verify)}`}
        </p>
      ) : null}
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        {(['since', 'actor', 'action', 'target'] as const).map((k) => (
          <label>
            {k} <input value={f[k]} size={12} onChange={(e) => setQuery({ [k]: (e.target as HTMLInputElement).value, after: undefined })} />
          </label>
        ))}
      </form>
      <ErrorBox error={list.error} />
      {!list.data ? (
        list.error ? null : (
          <Loading what="entries" />
        )
      ) : (
        <>
          <div class="scroll" tabIndex={0} role="region" aria-label="Scrollable table">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Target</th>
                  <th scope="col">OK</th>
                </tr>
              </thead>
              <tbody>
                {list.data.entries.map((e: any) => (
                  <tr>
                    <td>{e.seq}</td>
                    <td>{when(e.at ?? e.ts)}</td>
                    <td>{e.actor}</td>
                    <td>{e.action}</td>
                    <td class="wrap">{e.target}</td>
                    <td>{e.ok === false ? 'refused/failed' : 'yes'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {list.data.next_after ? (
            <button type="button" onClick={() => setQuery({ after: String(list.data.next_after) })}>
              Next page
            </button>
          ) : null}
        </>
      )}
    </Page>
  );
}
