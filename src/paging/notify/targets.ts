/**
 * Where a notification goes: an email address, a generic webhook (signed with a secret), or a
 * Slack incoming webhook. Used by people's contact methods and by shared Channels. Secrets are
 * never written in definitions: they are named here and stored sealed (`keel paging secret set`).
 */
import { z } from 'zod';

export const SECRET_NAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;
export const secretName = z.string().regex(SECRET_NAME, 'a secret name: lowercase letters, digits, ".", "-" or "_"');

const httpUrl = z
  .string()
  .max(2000)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL');

export const emailTarget = z.object({ type: z.literal('email'), address: z.string().email().max(320) }).strict();
export const webhookTarget = z
  .object({
    type: z.literal('webhook'),
    url: httpUrl,
    /** Secret whose value signs each body (`X-Keel-Signature: sha256=<hex>`). */
    signingSecret: secretName.optional(),
  })
  .strict();
export const slackTarget = z
  .object({
    type: z.literal('slack'),
    /** Secret holding the incoming-webhook URL (Slack says to keep it secret). */
    webhookUrlSecret: secretName,
  })
  .strict();

export const targetSchema = z.discriminatedUnion('type', [emailTarget, webhookTarget, slackTarget]);
export type Target = z.output<typeof targetSchema>;
export type ChannelType = Target['type'];

export const contactMethodSchema = z.discriminatedUnion('type', [
  emailTarget.extend({ name: z.string().regex(SECRET_NAME, 'a name: lowercase letters, digits, ".", "-" or "_"') }),
  webhookTarget.extend({ name: z.string().regex(SECRET_NAME, 'a name: lowercase letters, digits, ".", "-" or "_"') }),
  slackTarget.extend({ name: z.string().regex(SECRET_NAME, 'a name: lowercase letters, digits, ".", "-" or "_"') }),
]);
export type ContactMethod = z.output<typeof contactMethodSchema>;

export function targetOf(c: ContactMethod): Target {
  const { name: _name, ...target } = c;
  return target as Target;
}

/** Secret names a target needs. */
export function secretsOf(t: Target): string[] {
  if (t.type === 'webhook') return t.signingSecret ? [t.signingSecret] : [];
  if (t.type === 'slack') return [t.webhookUrlSecret];
  return [];
}

export function describeTarget(t: Target): string {
  if (t.type === 'email') return `email ${t.address}`;
  if (t.type === 'webhook') return `webhook ${new URL(t.url).host}`;
  return 'Slack';
}
