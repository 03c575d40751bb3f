/**
 * URL of a worker-thread entry module next to `from`. Workers must load compiled JavaScript; when
 * the caller itself runs from TypeScript sources (vitest), this points at the same module in
 * `dist/`, which `npm test` builds first.
 */
export function workerUrl(from: string, name: string): URL {
  const url = new URL(`./${name}.js`, from);
  if (from.endsWith('.ts')) {
    return new URL(url.href.replace('/src/', '/dist/'));
  }
  return url;
}
