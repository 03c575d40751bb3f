// Builds the console into dist/console-web/, which Keel serves at `/` (src/console/).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console-web/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Strict CSP (script-src 'self'): no inline module-preload polyfill, no inline assets.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:7070' } },
});
