/** The OpenAPI 3.1 description of the HTTP API, generated from the route definitions. */
import { z } from 'zod';
import type { AnyRoute } from './route.js';
import { ERROR_CODES } from '../core/errors.js';

type Json = Record<string, unknown>;

function schemaOf(t: z.ZodType, io: 'input' | 'output' = 'input'): Json {
  try {
    const s = z.toJSONSchema(t, { io, unrepresentable: 'any' }) as Json;
    delete s.$schema;
    return s;
  } catch {
    return {};
  }
}

export function buildOpenApi(routes: AnyRoute[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: Json[] = [];
    if (r.params) {
      const s = schemaOf(r.params);
      for (const [name, schema] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
        parameters.push({ name, in: 'path', required: true, schema });
      }
    }
    if (r.query) {
      const s = schemaOf(r.query);
      const required = new Set((s.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema, ...(schema.description ? { description: schema.description } : {}) });
      }
    }
    const op: Json = {
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: r.tags,
      operationId: `${r.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(parameters.length ? { parameters } : {}),
      ...(r.permission === 'public' ? { security: [] } : { 'x-keel-permission': r.permission }),
      ...(r.audit ? { 'x-keel-audit': r.audit } : {}),
      responses: Object.fromEntries(
        r.responses.map((res) => [
          String(res.status),
          {
            description: res.description,
            ...(res.schema ? { content: { [res.contentType ?? 'application/json']: { schema: schemaOf(res.schema, 'output') } } } : {}),
          },
        ]),
      ),
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(r.body) } } };
    if (r.rawBody) {
      op.requestBody = {
        required: true,
        content: Object.fromEntries(r.rawBody.contentTypes.map((t) => [t, { schema: { type: 'string' } }])),
      };
    }
    if (r.permission !== 'public') {
      (op.responses as Json)['401'] = { $ref: '#/components/responses/Unauthorized' };
      (op.responses as Json)['403'] = { $ref: '#/components/responses/Forbidden' };
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  const error = {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string', enum: [...ERROR_CODES] }, message: { type: 'string' }, details: { type: 'array', items: { type: 'object' } } },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Keel API', version, description: 'Durable event ingest, SLOs, paging and incidents.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [], csrf: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer keel_…`' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'keel_session',
          description: 'The session cookie set by `POST /v1/auth/sign-in` or single sign-on. `X-Keel-Team` names the team a request acts on.',
        },
        csrf: {
          type: 'apiKey',
          in: 'header',
          name: 'X-CSRF-Token',
          description: 'Required with the session cookie on every request that changes something: the `csrf_token` from sign-in or `GET /v1/session`.',
        },
      },
      schemas: { Error: error },
      responses: {
        Unauthorized: { description: 'Missing, invalid or revoked API key, or an ended session', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        Forbidden: {
          description: 'The key’s scopes or the person’s role lack the permission, or the CSRF token is missing',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}
