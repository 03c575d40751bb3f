/**
 * HTTP routes of the web console: the page shell for every console path (deep links load the
 * same shell and the console's router draws the page) and its hashed assets. Public: the shell
 * holds no data; every datum the console shows comes from the API with the person's session.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SENT, defineRoute, type AnyRoute } from '../api/route.js';
import { KeelError } from '../core/errors.js';
import type { ConsoleFiles, StaticFile } from './static-files.js';

/** The console's pages; each answers the shell, so a link to any of them works. */
export const CONSOLE_PAGES = [
  '/',
  '/sign-in',
  '/now',
  '/incidents',
  '/incidents/:id',
  '/slos',
  '/slos/:name',
  '/alerts',
  '/oncall',
  '/runbooks',
  '/runbooks/runs/:id',
  '/capacity',
  '/capacity/:id',
  '/audit',
  '/settings',
] as const;

const ASSET_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(js|css|svg|png|woff2)$/;

function send(req: FastifyRequest, reply: FastifyReply, f: StaticFile, cache: string): typeof SENT {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  void reply.header('cache-control', cache).header('vary', 'accept-encoding').type(f.type);
  if (gzip) void reply.header('content-encoding', 'gzip');
  void reply.send(gzip ? f.gzip : f.body);
  return SENT;
}

function notBuilt(files: ConsoleFiles): KeelError {
  return new KeelError('not_found', `the web console is not built (no ${files.dir}index.html): run "npm run build"`);
}

export function consoleRoutes(files: ConsoleFiles): AnyRoute[] {
  const shell = (url: string): AnyRoute =>
    defineRoute({
      method: 'GET',
      url,
      summary: url === '/' ? 'The web console (HTML shell; sign in with a password or single sign-on)' : `The web console page ${url}`,
      tags: ['console'],
      permission: 'public',
      ...(url.includes('/:') ? { params: z.object({ [url.slice(url.lastIndexOf(':') + 1)]: z.string().max(200) }).strict() } : {}),
      responses: [{ status: 200, description: 'The console’s HTML shell', contentType: 'text/html' }],
      handler: async ({ request, reply }) => {
        const index = files.index();
        if (!index) throw notBuilt(files);
        // Never cached: a new build must reach the browser at once (the assets it names are).
        return send(request, reply, index, 'no-cache');
      },
    });
  return [
    ...CONSOLE_PAGES.map(shell),
    defineRoute({
      method: 'GET',
      url: '/assets/:file',
      summary: 'A file of the web console (content-hashed name, cached for a year)',
      tags: ['console'],
      permission: 'public',
      params: z.object({ file: z.string().max(100) }).strict(),
      responses: [
        { status: 200, description: 'The file (script, style sheet, font or image, by its extension)', contentType: 'application/octet-stream' },
        { status: 404, description: 'No such file' },
      ],
      handler: async ({ params, request, reply }) => {
        const f = ASSET_NAME.test(params.file) ? files.asset(params.file) : undefined;
        if (!f) throw files.built ? new KeelError('not_found', `no console file "${params.file}"`) : notBuilt(files);
        // The name carries a hash of the content: a changed file gets a new name.
        return send(request, reply, f, 'public, max-age=31536000, immutable');
      },
    }),
  ];
}
