/** All of standard input as UTF-8 text (`-f -`, a secret piped in). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Standard input without its one trailing line break (`echo secret | keel ...`). */
export async function readStdinValue(): Promise<string> {
  return (await readStdin()).replace(/\r?\n$/, '');
}

/** Reads a password from standard input (`--password-stdin`), so it never appears in argv or shell history. */
export async function readStdinSecret(): Promise<string> {
  const text = await readStdinValue();
  if (!text) throw new Error('expected the password on standard input');
  return text;
}
