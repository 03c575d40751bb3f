/** What the backup routes answer, as zod schemas (OpenAPI; checked in every test by `server.checkResponses`). */
import { z } from 'zod';

const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('SHA-256, hex');

export const backupViewSchema = z
  .object({
    id: z.string(),
    at: z.string().describe('RFC 3339'),
    bytes: z.number().int().describe('Size of the backup file'),
    sha256: sha256.describe('Of the backup file (also sent as X-Keel-Backup-Sha256)'),
    actor: z.string(),
    files: z.array(z.object({ name: z.string(), bytes: z.number().int(), sha256 }).strict()).describe('The databases inside the backup'),
    duration_ms: z.number(),
  })
  .strict();

export const backupListSchema = z.object({ backups: z.array(backupViewSchema) }).strict();
