/**
 * How much of an SLO window Keel holds events for. A new SLO is backfilled from the retained event
 * log only, and counts live from its backfill claim on: when its window reaches back before both,
 * and before the oldest counter it has, the older part of the window is empty for lack of history,
 * not for lack of traffic, and its SLI and budget cover less time than the window says.
 */
import type { SloWindow } from './windows.js';

export interface Coverage {
  /** Events are held from here (the window start when the window is fully covered). */
  from: number;
  /** Share of the window [start, end) that is covered, 0..1. */
  ratio: number;
}

export interface History {
  /** When the generation started counting live (its backfill claim). */
  liveSince: number;
  /** Event time of the oldest batch of the tenant the log still holds; undefined when none. */
  oldestRetained: number | undefined;
  /** Start of the oldest minute the generation has counted events in; undefined when none. */
  oldestCounted: number | undefined;
}

export function coverage(w: Pick<SloWindow, 'start' | 'end'>, h: History): Coverage {
  const from = Math.min(h.liveSince, h.oldestRetained ?? Infinity, h.oldestCounted ?? Infinity);
  if (from <= w.start || w.end <= w.start) return { from: w.start, ratio: 1 };
  return { from, ratio: Math.max(0, (w.end - from) / (w.end - w.start)) };
}
