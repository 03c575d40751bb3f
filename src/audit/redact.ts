/** Removes secrets from values before they are written to the audit log or a response. */
const SECRET_KEYS = /^(key|apikey|api_key|secret|password|passwd|token|hash|privatekey|private_key|signing_secret|webhook_secret|client_secret|smtp_password)$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 10 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.test(k) && v !== null && v !== undefined ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}
