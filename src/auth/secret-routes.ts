/** HTTP routes of stored secrets: encryption status and key rotation (`keel secrets …`). */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { encryptionStatusSchema, rotationSchema } from './schemas.js';
import type { SecretRotation } from './secret-rotation.js';

export function secretRoutes(deps: { rotation: SecretRotation }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/secrets/status',
      summary: 'Encryption status of stored secrets: algorithm, key source, values per key',
      tags: ['secrets'],
      permission: 'compliance:read',
      responses: [{ status: 200, description: 'Status (counts and key ids only; never a key or a secret)', schema: encryptionStatusSchema }],
      handler: async () => deps.rotation.status(),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/secrets/rotate',
      summary: 'Re-encrypt every stored secret under the current key (optionally a newly generated one)',
      description:
        'With `new_key`, Keel writes a new key to its key file first (older keys stay until nothing needs them). With KEEL_SECRET_KEY, set the new key there and the old one in KEEL_SECRET_KEY_PREVIOUS, restart, then rotate.',
      tags: ['secrets'],
      permission: 'system:manage',
      audit: 'secrets.rotate',
      body: z.object({ new_key: z.boolean().optional() }).strict(),
      timeoutMs: 600_000,
      responses: [{ status: 200, description: 'What was re-encrypted, and the status after', schema: rotationSchema }],
      handler: async ({ body, audit }) => {
        const before = await deps.rotation.status();
        const r = await deps.rotation.rotate({ newKey: body.new_key ?? false });
        audit({
          target: 'secrets',
          before: { current_key_id: before.current_key_id, key_ids: before.key_ids },
          after: { current_key_id: r.status.current_key_id, key_ids: r.status.key_ids, reencrypted: r.reencrypted, retired_key_ids: r.retired_key_ids },
        });
        return r;
      },
    }),
  ];
}
