/**
 * Keel's configuration: defaults, then a YAML file (`--config` or `<dataDir>/keel.yaml`), then
 * environment variables, then command-line flags. Validated with zod so a typo is a precise error
 * (file, field path) at startup instead of a surprise later.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { KeelError } from './errors.js';
import { parseDuration, parseSize } from './units.js';

const size = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  const n = parseSize(v);
  if (Number.isNaN(n)) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size (e.g. 64KiB, 5MiB, 10GB)` });
    return z.NEVER;
  }
  return n;
});
const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  const n = parseDuration(v);
  if (Number.isNaN(n)) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (e.g. 500ms, 30s, 5m, 24h, 7d)` });
    return z.NEVER;
  }
  return n;
});

const origin = z.string().refine(
  (o) => {
    try {
      return new URL(o).origin === o;
    } catch {
      return false;
    }
  },
  { message: 'must be an origin: scheme://host[:port], without a path or trailing slash' },
);

/** Default deliveries in flight (`paging.delivery.concurrency`). */
export const DELIVERY_CONCURRENCY = 64;

/** Sign-in, sessions, CORS and request limits (docs/security.md). */
const securitySchema = z
  .object({
    /** Where users reach Keel (e.g. https://keel.example.com); OIDC redirect URIs are built from it. */
    publicUrl: z.string().url().optional(),
    /** Largest JSON body of any API route (ingest has its own limit). */
    maxBodyBytes: size.default(1024 * 1024),
    /** Longest a handler may run before the client gets a 503 (long polls declare more). */
    handlerTimeout: duration.default(30_000),
    /** Browser origins allowed to call the API (CORS); empty: CORS is off. */
    cors: z
      .object({ origins: z.array(origin).default([]) })
      .strict()
      .prefault({}),
    passwords: z
      .object({
        minLength: z.number().int().min(8).max(128).default(12),
        /** scrypt cost as log2 N (15: 32 MiB per hash). New hashes use it; stored hashes keep theirs. */
        hashCost: z.number().int().min(12).max(20).default(15),
      })
      .strict()
      .prefault({}),
    sessions: z
      .object({ ttl: duration.default(12 * 3_600_000), idleTimeout: duration.default(2 * 3_600_000) })
      .strict()
      .prefault({}),
    signIn: z
      .object({
        /** Failed sign-ins for one account within `window` before it is locked. */
        maxFailuresPerUser: z.number().int().min(1).default(5),
        /** Failed sign-ins from one address within `window` before it is locked. */
        maxFailuresPerAddress: z.number().int().min(1).default(20),
        window: duration.default(15 * 60_000),
        lockout: duration.default(15 * 60_000),
      })
      .strict()
      .prefault({}),
    /** API keys older than this are flagged in the compliance report. */
    apiKeys: z
      .object({ maxAge: duration.default(90 * 86_400_000) })
      .strict()
      .prefault({}),
    /** The compliance report flags the embedded backup as stale after this long. */
    backups: z
      .object({ maxAge: duration.default(86_400_000) })
      .strict()
      .prefault({}),
    /** The bearer token that opens the full /metrics (labels naming tenants and people); also KEEL_METRICS_TOKEN. */
    metrics: z
      .object({
        token: z
          .string()
          .min(32, 'at least 32 characters (e.g. openssl rand -hex 32)')
          .max(1024)
          // Sent as the one word after "Bearer": a token with a space or newline would never match.
          .regex(/^\S+$/, 'no spaces or line breaks: it is sent as the one word after "Authorization: Bearer"')
          .optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/** An override of one of Keel's built-in SLOs (src/selfwatch/definitions.ts). */
const selfSloOverride = z
  .object({
    enabled: z.boolean().optional(),
    target: z.number().gt(0).lt(1).optional(),
    /** The latency or freshness bound of a latency SLO, in ms. */
    thresholdMs: z.number().int().min(1).optional(),
  })
  .strict()
  .optional();

export const configSchema = z
  .object({
    dataDir: z.string().default('./keel-data'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7070),
        /** Closes requests that take longer than this (slow clients included). */
        requestTimeout: duration.default(30_000),
        /**
         * On SIGTERM/SIGINT, a shutdown still running after this long logs the steps it is
         * waiting for and exits with code 1 (below Kubernetes' default 30 s grace period).
         */
        shutdownTimeout: duration.default(20_000),
        tls: z.object({ cert: z.string(), key: z.string() }).strict().optional(),
        /**
         * Development and tests: every JSON answer is checked against the schema its route
         * declares (the OpenAPI description); a mismatch is a 500 naming the field, so a declared
         * answer cannot drift from the real one. Off in production: it costs a parse per answer.
         * Also KEEL_CHECK_RESPONSES=1.
         */
        checkResponses: z.boolean().default(false),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 7070, requestTimeout: 30_000, shutdownTimeout: 20_000, checkResponses: false }),
    ingest: z
      .object({
        maxEventBytes: size.default(64 * 1024),
        maxRequestBytes: size.default(5 * 1024 * 1024),
        maxEventsPerRequest: z.number().int().positive().default(10_000),
        maxFutureSkew: duration.default(5 * 60_000),
        maxDepth: z.number().int().positive().default(8),
        /** Threads that parse and validate request bodies; 0 parses on the main thread. */
        parseThreads: z.number().int().min(0).max(64).optional(),
      })
      .strict()
      .default({
        maxEventBytes: 64 * 1024,
        maxRequestBytes: 5 * 1024 * 1024,
        maxEventsPerRequest: 10_000,
        maxFutureSkew: 5 * 60_000,
        maxDepth: 8,
      }),
    quota: z
      .object({
        /** Default sustained rate for tenants without their own (events per second). */
        eventsPerSecond: z.number().positive().default(500_000),
        /** Default burst (events that may arrive at once). */
        burst: z.number().positive().default(1_000_000),
      })
      .strict()
      .default({ eventsPerSecond: 500_000, burst: 1_000_000 }),
    log: z
      .object({
        retention: z
          .object({ maxAge: duration.default(7 * 86_400_000), maxBytes: size.default(50 * 1024 ** 3) })
          .strict()
          .default({ maxAge: 7 * 86_400_000, maxBytes: 50 * 1024 ** 3 }),
        /** Appends are refused (503) above this size; must exceed retention.maxBytes. 0 = none. */
        maxBytes: size.default(60 * 1024 ** 3),
        /** Appends are refused (503) while free disk space is below this. */
        minFreeDisk: size.default(1024 ** 3),
        /** Appends are refused (503) while a consumer is this many events behind. 0 = none. */
        maxLagEvents: z.number().int().nonnegative().default(100_000_000),
        groupCommitDelay: duration.default(0),
        sweepInterval: duration.default(30_000),
        /** Embedded log: rewrite sealed segments compressed in the background (docs/capacity.md). */
        compress: z.boolean().default(true),
        /**
         * Embedded log: while Keel is short of CPU, compaction waits, until more than this many
         * NDJSON bytes wait for it (then it runs whatever the load). 0: it never waits. Default
         * 4 GiB, or half of `maxBytes` when that is smaller (appends stop at `maxBytes`).
         */
        compactionMaxBacklog: size.optional(),
      })
      .strict()
      .superRefine((log, ctx) => {
        // Appends stop above log.maxBytes, so a larger bound would never be reached: a node kept
        // busy would never compact.
        if (log.compactionMaxBacklog !== undefined && log.maxBytes > 0 && log.compactionMaxBacklog >= log.maxBytes) {
          ctx.addIssue({
            code: 'custom',
            path: ['compactionMaxBacklog'],
            message: `${log.compactionMaxBacklog} bytes must be below log.maxBytes (${log.maxBytes}): a backlog that large is never reached, so a busy node would never compact`,
          });
        }
      })
      .transform(({ compactionMaxBacklog, ...log }) => ({
        ...log,
        compactionMaxBacklog: compactionMaxBacklog ?? (log.maxBytes > 0 ? Math.min(4 * 1024 ** 3, Math.floor(log.maxBytes / 2)) : 4 * 1024 ** 3),
      }))
      .default({
        retention: { maxAge: 7 * 86_400_000, maxBytes: 50 * 1024 ** 3 },
        maxBytes: 60 * 1024 ** 3,
        minFreeDisk: 1024 ** 3,
        maxLagEvents: 100_000_000,
        groupCommitDelay: 0,
        sweepInterval: 30_000,
        compress: true,
        compactionMaxBacklog: 4 * 1024 ** 3,
      }),
    idempotency: z
      .object({ ttl: duration.default(86_400_000) })
      .strict()
      .default({ ttl: 86_400_000 }),
    slo: z
      .object({
        /** How often the burn-rate evaluator runs. */
        evaluationInterval: duration.default(30_000),
        /** Default floor of bad events per alert window before a burn-rate rule may fire. */
        minBadEvents: z.number().int().nonnegative().default(10),
        /** Distinct breakdown value combinations kept per SLO objective; the rest count as `__other__`. */
        maxBreakdownValues: z.number().int().min(1).max(10_000).default(100),
        /** How often old counter buckets and retired SLO versions are pruned. */
        maintenanceInterval: duration.default(300_000),
      })
      .strict()
      .default({ evaluationInterval: 30_000, minBadEvents: 10, maxBreakdownValues: 100, maintenanceInterval: 300_000 }),
    paging: z
      .object({
        /** Base URL people reach Keel at, for links in notifications (default: http://host:port). */
        publicUrl: z.string().url().optional(),
        /** How long a one-click acknowledge/resolve link in a notification stays valid. */
        linkTtl: duration.default(24 * 3_600_000),
        delivery: z
          .object({
            maxAttempts: z.number().int().min(1).max(50).default(6),
            initialBackoff: duration.default(2_000),
            maxBackoff: duration.default(5 * 60_000),
            timeout: duration.default(10_000),
            /**
             * Deliveries in flight at once. A delivery holds its slot until its answer is read, so
             * a storm pages at most this many per round trip: 16 slots over webhooks answering in
             * 200 ms page 80 a second. 64 keeps a storm's pages from queueing behind each other.
             */
            concurrency: z.number().int().min(1).max(256).default(DELIVERY_CONCURRENCY),
          })
          .strict()
          .default({ maxAttempts: 6, initialBackoff: 2_000, maxBackoff: 5 * 60_000, timeout: 10_000, concurrency: DELIVERY_CONCURRENCY }),
        /** How often the paging loops look for work when nothing woke them. */
        pollInterval: duration.default(1_000),
        /** Who hears of an incident that paged nobody: the tenant's admins (default), or nobody. */
        unpagedFallback: z.enum(['admins', 'none']).default('admins'),
      })
      .strict()
      .default({
        linkTtl: 24 * 3_600_000,
        delivery: { maxAttempts: 6, initialBackoff: 2_000, maxBackoff: 5 * 60_000, timeout: 10_000, concurrency: DELIVERY_CONCURRENCY },
        pollInterval: 1_000,
        unpagedFallback: 'admins',
      }),
    /** Keel watching itself: its own SLOs and alerts about itself (docs/self-monitoring.md). */
    selfMonitoring: z
      .object({
        /** Records Keel's own outcomes and keeps its built-in SLOs and alerts; false removes the SLOs. */
        enabled: z.boolean().default(true),
        /**
         * EscalationPolicy in the `keel-system` tenant that Keel's own SLO burns and alerts page.
         * Unset: they open incidents that page nobody, and start and `keel doctor` say so.
         */
        escalationPolicy: z
          .string()
          .regex(/^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$/, 'a definition name')
          .optional(),
        /** Outcomes are written to the `keel-system` log once per interval (one append). */
        flushInterval: duration.default(1_000),
        /** Outcomes kept per signal and interval; beyond it a uniform sample is kept. */
        maxEventsPerFlush: z.number().int().min(10).max(100_000).default(2_000),
        /** How often the alerts about Keel are evaluated. */
        checkInterval: duration.default(30_000),
        /** How often the leader verifies the whole audit chain. */
        auditVerifyInterval: duration.default(15 * 60_000),
        /** Prefix of runbook links (`<prefix>disk-filling.md`); an https URL of your docs makes them clickable. */
        runbookBaseUrl: z.string().min(1).default('docs/runbooks/'),
        /** Overrides of the built-in SLOs, by name: `enabled: false`, `target`, `thresholdMs`. */
        slos: z
          .object({
            'ingest-availability': selfSloOverride,
            'ingest-latency': selfSloOverride,
            'processing-freshness': selfSloOverride,
            'notification-delivery': selfSloOverride,
            'notification-latency': selfSloOverride,
          })
          .strict()
          .prefault({}),
        /** Alerts about Keel raised by Keel itself; false leaves them to the exported Prometheus rules. */
        alerts: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Runbooks as code (docs/runbooks-as-code.md). */
    runbooks: z
      .object({
        /** Executables `command` steps may run (absolute paths); none by default. Runbooks cannot widen this. */
        commands: z.array(z.string().regex(/^\//, 'an absolute path')).max(100).default([]),
        /** How often the executor looks for due runs when nothing woke it. */
        pollInterval: duration.default(1_000),
        /** Timeout of http, command and keel steps that set none. */
        defaultStepTimeout: duration.default(60_000),
        /** Output kept per step (http body, command stdout and stderr each). */
        maxOutputBytes: z
          .number()
          .int()
          .min(1024)
          .max(10 * 1024 * 1024)
          .default(64 * 1024),
        /** Runs the executor drives at once. */
        concurrency: z.number().int().min(1).max(256).default(16),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        keyFile: z.string().optional().describe('File with the 32-byte key sealing stored secrets (default <dataDir>/secret.key).'),
        allowUnreadable: z
          .boolean()
          .optional()
          .describe('Start even when stored secrets were sealed with a key Keel does not have (`keel start --allow-unreadable-secrets`); they stay unreadable until the key is back.'),
      })
      .strict()
      .default({}),
    security: securitySchema,
    /** The distributed mode's event log: NATS JetStream (see docs/distributed.md). */
    nats: z
      .object({
        /** One or more servers, comma-separated: nats://host:4222,nats://host2:4222 (tls:// for TLS). */
        url: z.string().optional(),
        user: z.string().optional(),
        password: z.string().optional(),
        token: z.string().optional(),
        /** A .creds file (JWT + NKey seed) for decentralised auth. */
        credsFile: z.string().optional(),
        tls: z.object({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional() }).strict().optional(),
        /**
         * The servers' monitoring URLs (http://host:8222), comma-separated: `keel doctor` reads the
         * fsync setting from the first and compares the stream's state on every one (replicas).
         */
        monitorUrl: z
          .string()
          .refine((v) => v.split(',').every((u) => URL.canParse(u.trim())), 'comma-separated http(s) URLs')
          .optional(),
        stream: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-"')
          .default('KEEL_EVENTS'),
        subjectPrefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens of letters, digits, "_" or "-"')
          .default('keel.events'),
        /** Subjects (and consumers) the log is split into; every process must agree. */
        partitions: z.number().int().min(1).max(1024).default(8),
        /** Stream replicas: 1 on one server, 3 in production (Jepsen 2025). */
        replicas: z.number().int().min(1).max(5).default(1),
        /** How long JetStream remembers a message id, so a retried publish is stored once. */
        duplicateWindow: duration.default(120_000),
        /** A worker that dies holding a batch: the batch goes to another worker after this. */
        ackWait: duration.default(10_000),
        /** How long an append keeps retrying its publish before ingest answers 503. */
        publishTimeout: duration.default(5_000),
        /** The stream refuses appends (503) above this size; 0 = only JetStream's own storage limit. */
        maxBytes: size.default(0),
        /** The stream's own storage compression (`s2` needs nats-server 2.10 or later; docs/capacity.md#disk). */
        compression: z.enum(['none', 's2']).default('none'),
      })
      .strict()
      .default({
        stream: 'KEEL_EVENTS',
        subjectPrefix: 'keel.events',
        partitions: 8,
        replicas: 1,
        duplicateWindow: 120_000,
        ackWait: 10_000,
        publishTimeout: 5_000,
        maxBytes: 0,
        compression: 'none',
      }),
    /** The distributed mode's state store. */
    postgres: z
      .object({
        /** postgres://user:password@host:5432/db (sslmode=... accepted). */
        url: z.string().optional(),
        /** Keep Keel's tables in this schema (created if missing). */
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lowercase identifier')
          .optional(),
        poolSize: z.number().int().min(1).max(200).default(10),
        tls: z
          .object({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional(), rejectUnauthorized: z.boolean().default(true) })
          .strict()
          .optional(),
      })
      .strict()
      .default({ poolSize: 10 }),
    capacity: z
      .object({
        /** Usage per tenant per minute is kept this long (`keel usage`). */
        usageRetention: duration.default(400 * 86_400_000),
        /** How often the leader removes usage older than the retention. */
        retentionInterval: duration.default(60_000),
        /** How often the leader samples every tracked limit (capacity history). */
        sampleInterval: duration.default(300_000),
        /** Raw samples are kept this long, then rolled up into one per hour (the hour's peak). */
        rawRetention: duration.default(8 * 86_400_000),
        /** Hourly roll-ups are kept this long. */
        hourlyRetention: duration.default(400 * 86_400_000),
        /** Forecasts fit this much history. */
        history: duration.default(28 * 86_400_000),
        /** A limit forecast to run out within this long alerts (and is ranked first). */
        horizon: duration.default(14 * 86_400_000),
        /** Ingest events/s one node carries; default: the measured figure in BENCHMARKS.md for the mode. */
        nodeIngestEventsPerSecond: z.number().positive().optional(),
        /** PostgreSQL database size to plan against (bytes); without it the size is tracked, not forecast. */
        postgresMaxBytes: size.optional(),
        /** Price of one node per month (any currency), for `keel capacity plan`. */
        nodePricePerMonth: z.number().nonnegative().optional(),
      })
      .strict()
      .default({
        usageRetention: 400 * 86_400_000,
        retentionInterval: 60_000,
        sampleInterval: 300_000,
        rawRetention: 8 * 86_400_000,
        hourlyRetention: 400 * 86_400_000,
        history: 28 * 86_400_000,
        horizon: 14 * 86_400_000,
      }),
    /** Coordination of the distributed roles. */
    cluster: z
      .object({
        /** How often a standby tries to take a leadership (evaluator, retention). */
        leaderPoll: duration.default(1_000),
        /**
         * A leadership not renewed for this long (a crashed, stalled or cut-off leader) goes to a
         * standby; the holder renews it every `leaderPoll`.
         */
        leaderLease: duration.default(5_000),
        /** Ingest leases quota tokens from the shared bucket this many ms of rate at a time. */
        quotaLease: duration.default(200),
        /** A worker's partitions go to the other workers this long after it stops renewing them. */
        partitionLease: duration.default(5_000),
      })
      .strict()
      .default({ leaderPoll: 1_000, leaderLease: 5_000, quotaLease: 200, partitionLease: 5_000 }),
  })
  .strict();

export type KeelConfig = z.output<typeof configSchema>;
export type KeelConfigInput = z.input<typeof configSchema>;

export function formatZodIssues(error: z.ZodError, source?: string): { path: string; message: string }[] {
  return error.issues.map((i) => ({
    path: formatPath(i.path),
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
    ...(source ? { source } : {}),
  }));
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const prev = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)) {
      out[k] = deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

/** Sets `value` at a dotted path, creating objects on the way. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}

const ENV: Record<string, { path: string; type: 'string' | 'number' | 'boolean' }> = {
  KEEL_DATA_DIR: { path: 'dataDir', type: 'string' },
  KEEL_LOG_LEVEL: { path: 'logLevel', type: 'string' },
  KEEL_HOST: { path: 'server.host', type: 'string' },
  KEEL_PORT: { path: 'server.port', type: 'number' },
  KEEL_CHECK_RESPONSES: { path: 'server.checkResponses', type: 'boolean' },
  KEEL_PARSE_THREADS: { path: 'ingest.parseThreads', type: 'number' },
  KEEL_NATS_URL: { path: 'nats.url', type: 'string' },
  KEEL_NATS_USER: { path: 'nats.user', type: 'string' },
  KEEL_NATS_PASSWORD: { path: 'nats.password', type: 'string' },
  KEEL_NATS_TOKEN: { path: 'nats.token', type: 'string' },
  KEEL_NATS_CREDS: { path: 'nats.credsFile', type: 'string' },
  KEEL_NATS_STREAM: { path: 'nats.stream', type: 'string' },
  KEEL_NATS_SUBJECT_PREFIX: { path: 'nats.subjectPrefix', type: 'string' },
  KEEL_PARTITIONS: { path: 'nats.partitions', type: 'number' },
  KEEL_NATS_REPLICAS: { path: 'nats.replicas', type: 'number' },
  KEEL_POSTGRES_URL: { path: 'postgres.url', type: 'string' },
  KEEL_POSTGRES_SCHEMA: { path: 'postgres.schema', type: 'string' },
  KEEL_METRICS_TOKEN: { path: 'security.metrics.token', type: 'string' },
};

export interface LoadConfigOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, as dotted paths (`server.port`). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadConfigOptions = {}): KeelConfig {
  const env = options.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const overrides: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options.overrides ?? {})) if (v !== undefined) setPath(overrides, k, v);
  const envValues: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (spec.type === 'boolean' && !['1', '0', 'true', 'false'].includes(v)) {
      throw new KeelError('validation_failed', `${name}="${v}" is not a boolean (1, 0, true or false)`);
    }
    const value = spec.type === 'number' ? Number(v) : spec.type === 'boolean' ? v === '1' || v === 'true' : v;
    if (spec.type === 'number' && !Number.isFinite(value)) {
      throw new KeelError('validation_failed', `${name}="${v}" is not a number`);
    }
    setPath(envValues, spec.path, value);
  }
  const dataDir = String((overrides.dataDir as string | undefined) ?? envValues.dataDir ?? './keel-data');
  const file = options.configFile ?? env.KEEL_CONFIG ?? join(dataDir, 'keel.yaml');
  const explicit = Boolean(options.configFile ?? env.KEEL_CONFIG);
  if (existsSync(file)) {
    let doc: unknown;
    try {
      doc = YAML.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new KeelError('validation_failed', `${file}: not valid YAML: ${(e as Error).message}`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) {
        throw new KeelError('validation_failed', `${file}: must be a YAML mapping of settings`);
      }
      raw = doc as Record<string, unknown>;
    }
  } else if (explicit) {
    throw new KeelError('validation_failed', `config file ${file} does not exist`);
  }
  const merged = deepMerge(deepMerge(raw, envValues), overrides);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error);
    throw new KeelError('validation_failed', `invalid configuration: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, { details: issues });
  }
  const config = parsed.data;
  config.dataDir = resolve(config.dataDir);
  return config;
}
