/**
 * The pause between passes of a leader loop: `ms`, or until the lease ends. Node's abortable timer
 * removes its abort listener when the time is up; a listener added per pass and never removed
 * piles up on the lease's one long-lived signal (MaxListenersExceededWarning after ten passes).
 */
import { setTimeout as delay } from 'node:timers/promises';

export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}
