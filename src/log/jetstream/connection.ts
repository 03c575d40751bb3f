/**
 * The NATS connection of a Keel process: TLS and credentials from the configuration, reconnect
 * forever with backoff (a restarted server is picked up by itself), and a connected/disconnected
 * state the log's health follows. Credentials are never logged: only server addresses are.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../telemetry/logger.js';

export interface NatsSettings {
  /** Comma-separated server URLs. */
  url: string;
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  credsFile?: string | undefined;
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined;
  /** Shown in the server's connection list (`keel-ingest-<pid>`). */
  name?: string;
}

export interface NatsLink {
  nc: NatsConnection;
  connected(): boolean;
  /** Why the connection is down, while it is. */
  downReason(): string | undefined;
  /** Server version of the current connection ("2.9.10"). */
  serverVersion(): string;
  /** Configured servers, credentials removed. */
  readonly servers: string[];
  close(): Promise<void>;
}

/** Server URLs without credentials, for logs. */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function redactNatsUrl(url: string): string {
  return natsServers(url)
    .map((s) => s.replace(/\/\/[^@/]*@/, '//***@'))
    .join(',');
}

export function natsConnectionOptions(s: NatsSettings): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: natsServers(s.url),
    name: s.name ?? 'keel',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    waitOnFirstConnect: true,
    // A server that stops answering (not just closing the socket) is noticed within ~6 s.
    pingInterval: 3_000,
    maxPingOut: 2,
    timeout: 5_000,
    // Keel words its own errors; an async stack captured for every publish request cost ingest
    // ~2% of its CPU in the distributed bench.
    noAsyncTraces: true,
  };
  if (s.user !== undefined) opts.user = s.user;
  if (s.password !== undefined) opts.pass = s.password;
  if (s.token !== undefined) opts.token = s.token;
  if (s.credsFile) {
    const creds = readFileSync(s.credsFile);
    opts.authenticator = credsAuthenticator(new Uint8Array(creds));
  }
  if (s.tls) {
    opts.tls = {
      ...(s.tls.ca ? { caFile: s.tls.ca } : {}),
      ...(s.tls.cert ? { certFile: s.tls.cert } : {}),
      ...(s.tls.key ? { keyFile: s.tls.key } : {}),
    };
  }
  return opts;
}

export async function connectNats(s: NatsSettings, logger: Logger): Promise<NatsLink> {
  const servers = redactNatsUrl(s.url);
  const nc = await connect(natsConnectionOptions(s));
  let up = true;
  let reason: string | undefined;
  let version = nc.info?.version ?? '';
  logger.info({ servers, serverVersion: version }, 'connected to NATS');
  void (async () => {
    for await (const st of nc.status()) {
      switch (st.type) {
        case 'disconnect':
          up = false;
          reason = `lost the connection to NATS (${st.server}); reconnecting`;
          logger.warn({ server: st.server }, 'NATS connection lost; reconnecting');
          break;
        case 'reconnect':
          up = true;
          reason = undefined;
          version = nc.info?.version ?? version;
          logger.info({ server: st.server }, 'NATS connection restored');
          break;
        case 'staleConnection':
          up = false;
          reason = 'the NATS server stopped answering; reconnecting';
          break;
        case 'error':
          logger.warn({ err: st.error }, 'NATS reported an error');
          break;
        case 'close':
          up = false;
          reason = 'the NATS connection is closed';
          break;
        default:
          break;
      }
    }
  })();
  return {
    nc,
    connected: () => up && !nc.isClosed(),
    downReason: () => (nc.isClosed() ? 'the NATS connection is closed' : reason),
    serverVersion: () => version,
    servers: natsServers(redactNatsUrl(s.url)),
    close: async () => {
      if (!nc.isClosed()) await nc.close();
    },
  };
}
