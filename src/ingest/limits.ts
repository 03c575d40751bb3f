/** Limits that protect ingest; every one is configurable (see core/config.ts). */
export interface IngestLimits {
  /** Largest single event, in bytes of its JSON text. */
  maxEventBytes: number;
  /** Largest request body, in bytes, both as sent and after gzip is undone. */
  maxRequestBytes: number;
  /** Most events in one request. */
  maxEventsPerRequest: number;
  /** How far in the future an event's `ts` may lie, in ms. */
  maxFutureSkewMs: number;
  /** Deepest nesting of attribute objects. */
  maxDepth: number;
  /** Longest `id`, in characters. */
  maxIdLength: number;
}

export const DEFAULT_LIMITS: IngestLimits = {
  maxEventBytes: 64 * 1024,
  maxRequestBytes: 5 * 1024 * 1024,
  maxEventsPerRequest: 10_000,
  maxFutureSkewMs: 5 * 60_000,
  maxDepth: 8,
  maxIdLength: 256,
};
