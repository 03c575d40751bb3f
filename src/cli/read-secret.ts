/** Reads a password from standard input (`--password-stdin`), so it never appears in argv or shell history. */
export async function readStdinSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!text) throw new Error('expected the password on standard input');
  return text;
}
