import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/bench/spawn-keel.js';
import { assertPortFree, listenFailed } from '../../src/runtime/start-checks.js';

describe('the port check before the first-start bootstrap', () => {
  it('refuses a taken port with the reason, and passes a free one', async () => {
    const port = await freePort();
    await expect(assertPortFree('127.0.0.1', port)).resolves.toBeUndefined();
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
    try {
      await expect(assertPortFree('127.0.0.1', port)).rejects.toThrow(
        `127.0.0.1:${port} is already in use (another Keel or another program): stop it, or start with --port <another port>. Nothing was set up.`,
      );
    } finally {
      await new Promise<void>((r) => squatter.close(() => r()));
    }
    await expect(assertPortFree('127.0.0.1', port)).resolves.toBeUndefined();
  });

  it('says how to get an admin key back when the port was taken after the bootstrap made one', () => {
    const err = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    expect(listenFailed(err, '0.0.0.0', 7070, true).message).toBe(
      '0.0.0.0:7070 is already in use (another Keel or another program): stop it, or start with --port <another port>. The admin key this first start created was not shown: mint a new one with keel admin create-key --data-dir <dir>.',
    );
    expect(listenFailed(Object.assign(new Error('x'), { code: 'EACCES' }), '127.0.0.1', 80, false).message).toContain('ports below 1024 need privileges');
  });
});
