/** HTTP routes of paging's settings: sealed secrets (names only, never values) and the SMTP server. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import { KeelError } from '../../core/errors.js';
import { iso } from '../../core/time-input.js';
import { actorOf } from '../incidents/routes.js';
import type { NotifyRouteDeps } from './route-deps.js';
import { secretListSchema, smtpViewSchema, storedSecretSchema } from './schemas.js';
import { smtpSettingsBody } from './smtp-settings.js';
import { SECRET_NAME } from './targets.js';

const secretParam = z.object({ name: z.string().regex(SECRET_NAME, 'a secret name: lowercase letters, digits, ".", "-" or "_"') }).strict();

export function settingsRoutes({ queries, secrets, smtp }: Pick<NotifyRouteDeps, 'queries' | 'secrets' | 'smtp'>): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/paging/secrets',
      summary: 'Names of stored secrets (values are never shown)',
      tags: ['paging'],
      permission: 'paging:read',
      responses: [{ status: 200, description: 'Secrets', schema: secretListSchema }],
      handler: async ({ principal }) => ({
        secrets: (await secrets.list(principal.tenant)).map((s) => ({ name: s.name, created_at: iso(s.createdAt), updated_at: iso(s.updatedAt), updated_by: s.updatedBy })),
      }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/paging/secrets',
      summary: 'Store a secret (webhook signing secret, Slack webhook URL), sealed; replaces one of the same name',
      tags: ['paging'],
      permission: 'integrations:manage',
      audit: 'paging.secret.set',
      body: z.object({ name: secretParam.shape.name, value: z.string().min(1).max(8192) }).strict(),
      responses: [{ status: 200, description: 'Stored (the value is not returned)', schema: storedSecretSchema }],
      handler: async ({ body, principal, audit }) => {
        const { info, created } = await secrets.set(principal.tenant, body.name, body.value, actorOf(principal));
        audit({ target: `secret/${body.name}`, after: { name: body.name, created } });
        return { name: info.name, created, updated_at: iso(info.updatedAt) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/paging/secrets/:name',
      summary: 'Delete a secret',
      tags: ['paging'],
      permission: 'integrations:manage',
      audit: 'paging.secret.delete',
      params: secretParam,
      responses: [
        { status: 200, description: 'Deleted' },
        { status: 409, description: 'Definitions still name it' },
      ],
      handler: async ({ params, principal, audit }) => {
        // Refused while definitions name it: they could page nobody without it.
        const users = await queries.secretUsers(principal.tenant, params.name);
        if (users.length) throw new KeelError('conflict', `secret ${params.name} is used by ${users.join(', ')}; change them first`);
        await secrets.remove(principal.tenant, params.name);
        audit({ target: `secret/${params.name}` });
        return { deleted: params.name };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/paging/smtp',
      summary: 'The SMTP server email notifications go through (password never shown)',
      tags: ['paging'],
      permission: 'paging:read',
      responses: [
        { status: 200, description: 'Settings', schema: smtpViewSchema },
        { status: 404, description: 'None configured' },
      ],
      handler: async ({ principal }) => {
        const v = await smtp.view(principal.tenant);
        if (!v) throw new KeelError('not_found', 'no SMTP server is configured (keel paging smtp set)');
        return v;
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/paging/smtp',
      summary: 'Set the SMTP server for email notifications (the password is stored sealed)',
      tags: ['paging'],
      permission: 'integrations:manage',
      audit: 'paging.smtp.set',
      body: smtpSettingsBody,
      responses: [{ status: 200, description: 'Settings (without the password)', schema: smtpViewSchema }],
      handler: async ({ body, principal, audit }) => {
        await smtp.set(principal.tenant, body);
        const v = await smtp.view(principal.tenant);
        audit({ target: 'paging/smtp', after: v });
        return v;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/paging/smtp',
      summary: 'Remove the SMTP settings',
      tags: ['paging'],
      permission: 'integrations:manage',
      audit: 'paging.smtp.delete',
      responses: [{ status: 200, description: 'Removed' }],
      handler: async ({ principal, audit }) => {
        if (!(await smtp.remove(principal.tenant))) throw new KeelError('not_found', 'no SMTP server is configured');
        audit({ target: 'paging/smtp' });
        return { deleted: 'smtp' };
      },
    }),
  ];
}
