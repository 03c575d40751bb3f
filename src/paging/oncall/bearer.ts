/** The credential in `Authorization: Bearer <x>`, for public routes that check their own keys. */
import type { IncomingHttpHeaders } from 'node:http';

export function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (!auth) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return m ? m[1] : undefined;
}
