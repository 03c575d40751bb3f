/**
 * The built console (`npm run build` writes it to `dist/console-web/`), read once and kept in
 * memory with a gzip copy of each file: it is a few hundred kilobytes, and the phone of a person
 * paged at 3 a.m. should get it compressed from the first byte.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface StaticFile {
  body: Buffer;
  gzip: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Where `npm run build` puts the console, from `src/console/` and from `dist/console/` alike. */
export function defaultConsoleDir(): string {
  return fileURLToPath(new URL('../../dist/console-web/', import.meta.url));
}

export class ConsoleFiles {
  private readonly files = new Map<string, StaticFile>();

  constructor(readonly dir: string) {
    if (!existsSync(join(dir, 'index.html'))) return;
    const walk = (rel: string) => {
      for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path);
        else {
          const body = readFileSync(join(dir, path));
          const ext = e.name.slice(e.name.lastIndexOf('.'));
          this.files.set(path, { body, gzip: gzipSync(body, { level: 9 }), type: TYPES[ext] ?? 'application/octet-stream' });
        }
      }
    };
    walk('');
  }

  /** Whether the console was built (a Keel started from sources without `npm run build` has none). */
  get built(): boolean {
    return this.files.has('index.html');
  }

  index(): StaticFile | undefined {
    return this.files.get('index.html');
  }

  asset(name: string): StaticFile | undefined {
    return this.files.get(`assets/${name}`);
  }
}
