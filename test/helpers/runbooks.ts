/** Waiting for a runbook run as a user would: reading it through the API until it has ended. */
import { waitFor } from './paging.js';

/** The statuses a run ends in. */
export const ENDED = ['succeeded', 'failed', 'aborted'];

/** The run once `read` shows it ended (succeeded, failed or aborted). */
export function runEnded<R extends { status: string }>(read: (id: string) => Promise<R>, id: string): Promise<R> {
  return waitFor(`run ${id} to end`, async () => {
    const run = await read(id);
    return ENDED.includes(run.status) ? run : undefined;
  });
}
