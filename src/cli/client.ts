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
  ) {
    super(message);
  }
}

export class UnreachableError extends Error {}

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
    options: { body?: unknown; raw?: Buffer | string; headers?: Record<string, string>; query?: Record<string, string | number | undefined> } = {},
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
      res = await request(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    } catch (e) {
      throw new UnreachableError(`cannot reach Keel at ${this.baseUrl}: ${(e as Error).message}`);
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.statusCode >= 400) {
      const err = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new ApiError(res.statusCode, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.statusCode}: ${text.slice(0, 200)}`, err?.details);
    }
    return (json ?? text) as T;
  }

  /** Streams an answer's body into a file (backups); returns the response headers. */
  async download(
    method: 'GET' | 'POST',
    path: string,
    file: string,
    onBytes?: (total: number) => void,
  ): Promise<Record<string, string | string[] | undefined>> {
    const headers: Record<string, string> = {};
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let res;
    try {
      res = await request(`${this.baseUrl}${path}`, { method, headers });
    } catch (e) {
      throw new UnreachableError(`cannot reach Keel at ${this.baseUrl}: ${(e as Error).message}`);
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        err = undefined;
      }
      throw new ApiError(res.statusCode, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
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
