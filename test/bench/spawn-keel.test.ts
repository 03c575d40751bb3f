/**
 * Starting Keel for a test or a bench on a port chosen beforehand: another process can take the
 * port before Keel binds it. The Keel handed back must be the one started, answering its own key.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, listensOn, spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { http } from '../helpers/keel.js';

const started: KeelProcess[] = [];
afterAll(async () => {
  for (const k of started) {
    await k.stop('SIGKILL');
    k.cleanup();
  }
});

/** Hands out `taken` first, then free ports. */
function portsStartingWith(taken: number): () => Promise<number> {
  let first = true;
  return async () => {
    if (!first) return freePort();
    first = false;
    return taken;
  };
}

describe('spawnKeel on a port another process took', () => {
  it('starts again elsewhere when another Keel answers /readyz on the chosen port', async () => {
    const other = await spawnKeel();
    started.push(other);
    const mine = await spawnKeel({ choosePort: portsStartingWith(other.port) });
    started.push(mine);
    expect(mine.port).not.toBe(other.port);
    expect(listensOn(mine.child.pid!, mine.port)).toBe(true);
    expect((await http(`${mine.url}/v1/events?limit=1`, { key: mine.adminKey })).status).toBe(200);
    expect((await http(`${other.url}/v1/events?limit=1`, { key: mine.adminKey })).status).toBe(401);
  }, 90_000);

  it('starts again elsewhere when a program that is not Keel holds the chosen port', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    try {
      const mine = await spawnKeel({ choosePort: portsStartingWith(port) });
      started.push(mine);
      expect(mine.port).not.toBe(port);
      expect((await http(`${mine.url}/readyz`)).status).toBe(200);
      // The first attempt's "already in use" is not in what the Keel handed back wrote.
      expect(mine.stderr()).not.toContain('already in use');
    } finally {
      holder.close();
    }
  }, 90_000);

  it('refuses a port it was told to use when another Keel answers there', async () => {
    const other = await spawnKeel();
    started.push(other);
    await expect(spawnKeel({ port: other.port })).rejects.toThrow(`another process answers on port ${other.port}, not the Keel started there`);
  }, 90_000);
});
