/**
 * First start: the system tenant and one admin key. The key is returned so the caller can print
 * it once to the terminal (never to the log); KEEL_BOOTSTRAP_KEY makes it a known value.
 */
import { KeelError } from '../core/errors.js';
import type { ApiKeyService } from './api-keys.js';
import { SYSTEM_TENANT, type TenantService } from './tenants.js';

export const MIN_BOOTSTRAP_KEY_LENGTH = 16;

export async function bootstrap(tenants: TenantService, keys: ApiKeyService, bootstrapKey: string | undefined): Promise<{ adminKey: string; generated: boolean } | undefined> {
  await tenants.ensure(SYSTEM_TENANT);
  if ((await keys.count()) > 0) return undefined;
  if (bootstrapKey !== undefined && bootstrapKey.length < MIN_BOOTSTRAP_KEY_LENGTH) {
    throw new KeelError('validation_failed', `KEEL_BOOTSTRAP_KEY must be at least ${MIN_BOOTSTRAP_KEY_LENGTH} characters`);
  }
  const { key } = await keys.create({
    tenant: SYSTEM_TENANT,
    name: 'bootstrap admin',
    scopes: ['admin'],
    createdBy: 'bootstrap',
    ...(bootstrapKey ? { key: bootstrapKey } : {}),
  });
  return { adminKey: key, generated: bootstrapKey === undefined };
}
