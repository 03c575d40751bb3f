/**
 * The CLI's HTTP client: every command is an API call, so what the CLI can do the API can do.
 * Errors come back as ApiError with the server's code and message, and map to exit codes.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** The server's Retry-After (seconds), on 429 and 503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export class UnreachableError extends Error {}

/**
 * The error of a failed answer: Keel's own `{"error": {...}}` when it is one; otherwise one line
 * (a proxy or another server answering an HTML page must not flood the terminal).
 */
function answerError(status: number, text: string, headers: Record<string, string | string[] | undefined>, hasKey: boolean, url: string): ApiError {
  const contentType = header(headers['content-type']);
  const retryAfter = Number(header(headers['retry-after']) ?? NaN);
  const retry = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined;
  let err: { code?: string; message?: string; details?: unknown } | undefined;
  try {
    err = (JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  } catch {
    err = undefined;
  }
  if (err?.message) {
    // Keel answers 401 to a request without a key: say how to give one.
    const hint = status === 401 && !hasKey ? '; set KEEL_API_KEY (or pass --api-key)' : '';
    return new ApiError(status, err.code ?? 'http_error', `${err.message}${hint}`, err.details, retry);
  }
  return new ApiError(status, 'http_error', `HTTP ${status} from ${url}: ${notKeel(text, contentType)}`, undefined, retry);
}

function notKeel(text: string, contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0]!.trim();
  if (/html/i.test(type) || /^\s*</.test(text)) {
    const title = /<title[^>]*>([^<]{1,120})<\/title>/i.exec(text)?.[1]?.trim();
    return `not a Keel answer (${type || 'HTML'}${title ? `: "${title}"` : ''}); is --url / KEEL_URL the Keel server?`;
  }
  const line = text.split('\n', 1)[0]!.trim();
  return line ? (line.length > 200 ? `${line.slice(0, 197)}...` : line) : '(empty answer)';
}

function header(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

export interface ClientOptions {
  url: string;
  apiKey: string | undefined;
}

export class KeelClient {
  constructor(private readonly opts: ClientOptions) {}

  get baseUrl(): string {
    return this.opts.url.replace(/\/+$/, '');
  }

  async call<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    options: { body?: unknown; raw?: Buffer | string; headers?: Record<string, string>; query?: Record<string, string | number | undefined>; signal?: AbortSignal } = {},
  ): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
    const url = `${this.baseUrl}${path}${qs.size ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { ...options.headers };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let body: Buffer | string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    let res;
    try {
      res = await request(url, { method, headers, ...(body !== undefined ? { body } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    } catch (e) {
      if (options.signal?.aborted) throw e;
      throw new UnreachableError(`cannot reach Keel at ${this.baseUrl}: ${(e as Error).message}`);
    }
    const text = await res.body.text();
    const contentType = header(res.headers['content-type']);
    if (res.statusCode >= 400) throw answerError(res.statusCode, text, res.headers, Boolean(this.opts.apiKey), url.split('?')[0]!);
    // Keel answers JSON or text (rules, calendars, Markdown), never an HTML page: that is another server.
    if (/html/i.test(contentType ?? '')) throw new ApiError(res.statusCode, 'http_error', `HTTP ${res.statusCode} from ${url.split('?')[0]}: ${notKeel(text, contentType)}`);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return (json ?? text) as T;
  }

  /** Streams an answer's body into a file (backups); returns the response headers. */
  async download(method: 'GET' | 'POST', path: string, file: string, onBytes?: (total: number) => void): Promise<Record<string, string | string[] | undefined>> {
    const headers: Record<string, string> = {};
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let res;
    try {
      res = await request(`${this.baseUrl}${path}`, { method, headers });
    } catch (e) {
      throw new UnreachableError(`cannot reach Keel at ${this.baseUrl}: ${(e as Error).message}`);
    }
    if (res.statusCode >= 400) {
      throw answerError(res.statusCode, await res.body.text(), res.headers, Boolean(this.opts.apiKey), `${this.baseUrl}${path}`);
    }
    let total = 0;
    await pipeline(
      res.body,
      async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          total += chunk.length;
          onBytes?.(total);
          yield chunk;
        }
      },
      createWriteStream(file, { flags: 'wx', mode: 0o600 }),
    );
    return res.headers;
  }
}
