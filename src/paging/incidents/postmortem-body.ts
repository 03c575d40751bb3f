/** The postmortem over HTTP: the body of an edit (Markdown itself, or JSON) and the answer's shape. */
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { KeelError } from '../../core/errors.js';
import { iso } from '../../core/time-input.js';
import type { StoredPostmortem } from './postmortem-service.js';

export const MAX_POSTMORTEM_BYTES = 1024 * 1024;

const jsonBody = z.object({ markdown: z.string().min(1).max(MAX_POSTMORTEM_BYTES) }).strict();

/** The Markdown of a `PUT`: a `text/markdown` body as is, or `{"markdown": "..."}`. */
export function postmortemBody(contentType: string | undefined, body: unknown): string {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (type === 'text/markdown') {
    if (bytes.length === 0) throw new KeelError('validation_failed', 'body: the postmortem is empty', { details: [{ path: 'body', message: 'empty' }] });
    if (bytes.length > MAX_POSTMORTEM_BYTES) throw new KeelError('validation_failed', `body: at most ${MAX_POSTMORTEM_BYTES} bytes`, { details: [{ path: 'body', message: 'too large' }] });
    if (!isUtf8(bytes)) throw new KeelError('validation_failed', 'body: not valid UTF-8 text', { details: [{ path: 'body', message: 'not UTF-8' }] });
    return bytes.toString('utf8');
  }
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new KeelError('validation_failed', 'body: not valid JSON', { details: [{ path: 'body', message: 'not JSON' }] });
    }
    const r = jsonBody.safeParse(parsed);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const path = issue.path.join('.') || 'body';
      throw new KeelError('validation_failed', `${path}: ${issue.message}`, { details: r.error.issues.map((x) => ({ path: x.path.join('.') || 'body', message: x.message })) });
    }
    return r.data.markdown;
  }
  throw new KeelError('unsupported_media_type', `send the postmortem as text/markdown or application/json, not ${type || 'no content type'}`);
}

export function postmortemView(incidentId: string, pm: StoredPostmortem) {
  return {
    incident: incidentId,
    markdown: pm.markdown,
    created_at: iso(pm.createdAt),
    updated_at: iso(pm.updatedAt),
    author: pm.author,
    edited: pm.edited ? { at: iso(pm.edited.at), by: pm.edited.by } : null,
  };
}
