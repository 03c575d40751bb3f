/**
 * A scripted HTTP proxy in front of a Keel, for CLI tests of what networks do: answer a request
 * itself (429/503/400), drop the connection, hold the request forever, or pass it through.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export type ProxyAction = 'pass' | 'drop' | 'hold' | { status: number; headers?: Record<string, string>; body: string };

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface TestProxy {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startProxy(target: string, decide: (req: SeenRequest, n: number) => ProxyAction): Promise<TestProxy> {
  const seen: SeenRequest[] = [];
  const held: IncomingMessage[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
    seen.push(r);
    const action = decide(r, seen.length);
    if (action === 'drop') return void req.socket.destroy();
    if (action === 'hold') return void held.push(req);
    if (action !== 'pass') {
      res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
      return void res.end(action.body);
    }
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type', 'idempotency-key']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
    const up = await request(`${target}${r.url}`, { method: r.method as 'GET', headers, ...(r.body.length ? { body: r.body } : {}) });
    const body = Buffer.from(await up.body.arrayBuffer());
    const out: Record<string, string> = {};
    for (const h of ['content-type', 'retry-after']) if (typeof up.headers[h] === 'string') out[h] = up.headers[h] as string;
    res.writeHead(up.statusCode, out);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      for (const h of held) h.socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
