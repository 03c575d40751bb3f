/**
 * Keyset page cursors: the sort key of the last row of a page (a time and a tie-breaker), opaque
 * to clients, so the next page starts after that row with an index seek instead of skipping
 * OFFSET rows (flat time at any depth; no duplicate or skipped row when rows are added on top).
 */
import { KeelError } from './errors.js';

export interface PageKey {
  at: number;
  /** Breaks ties between rows of the same time: an incident number or an alert id. */
  tie: string | number;
}

export function encodeCursor(k: PageKey): string {
  return Buffer.from(JSON.stringify([k.at, k.tie])).toString('base64url');
}

export function decodeCursor(cursor: string, field = 'cursor'): PageKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isSafeInteger(parsed[0]) ||
    (typeof parsed[1] !== 'string' && !(typeof parsed[1] === 'number' && Number.isSafeInteger(parsed[1])))
  ) {
    throw new KeelError('validation_failed', `${field}: not a cursor of this list; pass the next_cursor of the previous page`, {
      details: [{ path: field, message: 'invalid cursor' }],
    });
  }
  return { at: parsed[0] as number, tie: parsed[1] as string | number };
}
