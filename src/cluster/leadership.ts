/**
 * Leader-only work (alert evaluation, escalation timers, retention): exactly one process runs each
 * named leadership at a time.
 *
 * Distributed: a time-bounded **lease** per name, a row in `leader_leases` with its holder, an
 * expiry in the database's clock and an epoch that grows at every change of holder. Session
 * advisory locks were not enough: a leader that stalls (SIGSTOP, a long GC pause, a frozen VM)
 * keeps its socket and so its lock, and nobody replaced it for as long as the stall lasted.
 *
 *  - The holder renews its lease every `pollMs` (one statement on a dedicated connection, which
 *    also advances the tenure's heartbeat). A renewal finding the lease expired ends the tenure:
 *    a process that resumes after a stall learns at once that it no longer leads.
 *  - Standbys try every `pollMs`; a lease not renewed for `leaseMs` is taken over, with epoch + 1.
 *    So a standby takes over at most `leaseMs + pollMs` (+ `graceMs`) after the last renewal.
 *  - Fencing: `lease.assertHeld(trx)` checks, inside the caller's transaction, that the lease row
 *    still has this holder and epoch and has not expired, and keeps a KEY SHARE lock on it until
 *    commit. A takeover locks the row FOR UPDATE first, so it waits for every fenced transaction
 *    of the old holder to end; such a transaction cannot hold the row hostage, because it also
 *    sets `idle_in_transaction_session_timeout` to the lease, so a leader stalled mid-transaction
 *    loses its session (and its uncommitted writes) once the lease has run out.
 *  - Locally, the holder counts its lease from the moment it sent the renewal (monotonic clock),
 *    which ends no later than the database's expiry: after a stall `assertHeld` refuses at once,
 *    before any round trip.
 * Each tenure is recorded in `leader_tenures`.
 */
import { hostname } from 'node:os';
import { sql, type Kysely, type Transaction } from 'kysely';
import pg from 'pg';
import { KeelError } from '../core/errors.js';
import { randomBase62 } from '../core/ids.js';
import { pause } from '../core/pause.js';
import { ShutdownSteps } from '../core/shutdown.js';
import type { LeaderLease } from '../module/context.js';
import type { Database } from '../store/schema.js';
import type { PostgresHandle } from '../store/postgres.js';
import type { Logger } from '../telemetry/logger.js';

export type LeaderWork = (lease: LeaderLease) => Promise<void>;

export interface Leadership {
  readonly holder: string;
  run(name: string, fn: LeaderWork): void;
  /** Names this process leads right now. */
  held(): string[];
  /** Every leadership registered here. */
  names(): string[];
  /** True while the leadership machinery can reach its store (readiness). */
  healthy(): boolean;
  /** Ends every tenure and waits for its work; each leadership still running is a step of `steps`. */
  stop(steps?: ShutdownSteps): Promise<void>;
}

export function newHolderId(role: string): string {
  return `${role}@${hostname()}:${process.pid}:${randomBase62(4)}`;
}

const RESTART_PAUSE_MS = 1_000;

/** Runs `fn` for one tenure: restarted after a pause if it throws, until the lease ends. */
async function runTenure(name: string, fn: LeaderWork, lease: LeaderLease, logger: Logger): Promise<void> {
  while (!lease.signal.aborted) {
    try {
      await fn(lease);
      return;
    } catch (err) {
      if (lease.signal.aborted) return;
      logger.error({ err, leadership: name }, 'leader work failed; starting it again');
      await pause(RESTART_PAUSE_MS, lease.signal);
    }
  }
}

/** The embedded default: this process is the only one, so it always leads. */
export class LocalLeadership implements Leadership {
  private readonly controller = new AbortController();
  private readonly registered = new Set<string>();
  private readonly tenures: { name: string; running: Promise<void> }[] = [];

  constructor(
    readonly holder: string,
    private readonly logger: Logger,
  ) {}

  run(name: string, fn: LeaderWork): void {
    this.registered.add(name);
    const lease: LeaderLease = {
      signal: this.controller.signal,
      holder: this.holder,
      assertHeld: async () => {
        if (this.controller.signal.aborted) throw new KeelError('unavailable', `leadership ${name} ended: Keel is stopping`);
      },
    };
    this.tenures.push({ name, running: runTenure(name, fn, lease, this.logger) });
  }

  held(): string[] {
    return this.controller.signal.aborted ? [] : [...this.registered];
  }

  names(): string[] {
    return [...this.registered];
  }

  healthy(): boolean {
    return true;
  }

  async stop(steps = new ShutdownSteps()): Promise<void> {
    this.controller.abort();
    await Promise.all(this.tenures.map((t) => steps.step(`leader work ${t.name}`, () => t.running)));
  }
}

interface Tenure {
  id: number;
  epoch: number;
  controller: AbortController;
  /** performance.now() until which this process may act as leader without renewing. */
  validUntil: number;
  running?: Promise<void>;
  startTimer?: NodeJS.Timeout;
}

interface Entry {
  name: string;
  fn: LeaderWork;
  /** Set while this process holds the lease. */
  tenure?: Tenure | undefined;
}

export interface PostgresLeadershipOptions {
  handle: PostgresHandle;
  holder: string;
  logger: Logger;
  /** How often the holder renews its leases and standbys try to take them. */
  pollMs: number;
  /** A lease not renewed for this long goes to a standby (default five polls). */
  leaseMs?: number;
  /** Wait after taking a lease before starting the work (default one poll). */
  graceMs?: number;
}

/** Epoch milliseconds in the database's clock (lease times never depend on machines' clocks). */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
/** PostgreSQL's lock_not_available: a takeover waiting for a fenced transaction of the old holder. */
const LOCK_NOT_AVAILABLE = '55P03';

export class PostgresLeadership implements Leadership {
  readonly holder: string;
  readonly leaseMs: number;
  private readonly entries = new Map<string, Entry>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private ticking = false;
  /** Bumped by every round, and when a round is given up: a stale round changes nothing. */
  private round = 0;
  private stopped = false;
  private connected = false;

  constructor(private readonly o: PostgresLeadershipOptions) {
    this.holder = o.holder;
    this.leaseMs = o.leaseMs ?? 5 * o.pollMs;
    if (this.leaseMs < 2 * o.pollMs) throw new KeelError('validation_failed', `cluster.leaderLease (${this.leaseMs} ms) must be at least twice cluster.leaderPoll (${o.pollMs} ms)`);
    // Connect at once (readiness reports the lease connection), and keep renewing.
    this.timer = setInterval(() => {
      this.expireUnrenewed();
      void this.tick();
    }, this.o.pollMs);
    this.timer.unref();
    void this.tick();
  }

  run(name: string, fn: LeaderWork): void {
    if (this.entries.has(name)) throw new Error(`leadership ${name} is already registered`);
    this.entries.set(name, { name, fn });
    void this.tick();
  }

  held(): string[] {
    const now = performance.now();
    return [...this.entries.values()].filter((e) => e.tenure && !e.tenure.controller.signal.aborted && now < e.tenure.validUntil).map((e) => e.name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  healthy(): boolean {
    return this.connected;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.o.handle.clientConfig, application_name: `keel-leader ${this.holder}` });
    client.on('error', (err) => {
      if (this.client === client) this.loseAll(`the lease connection failed: ${err.message}`);
    });
    client.on('end', () => {
      if (this.client === client) this.loseAll('the lease connection closed');
    });
    await client.connect();
    this.client = client;
    this.connected = true;
  }

  /** The lease connection is gone: renewals cannot be made, so every tenure ends now. */
  private loseAll(reason: string): void {
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    client?.end().catch(() => undefined);
    for (const e of this.entries.values()) this.end(e, reason);
  }

  private end(e: Entry, reason: string): void {
    if (!e.tenure) return;
    this.o.logger.warn({ leadership: e.name, epoch: e.tenure.epoch, reason }, 'leadership lost');
    clearTimeout(e.tenure.startTimer);
    e.tenure.controller.abort();
    e.tenure = undefined;
  }

  /**
   * A tenure whose lease ran out on this process's clock ends now, even while a round is still
   * waiting for PostgreSQL (a renewal stuck on a connection that stopped answering used to keep
   * its tenure's work running, fenced but not told, for as long as the connection hung).
   */
  private expireUnrenewed(): void {
    const now = performance.now();
    for (const e of this.entries.values()) {
      if (e.tenure && now >= e.tenure.validUntil)
        this.end(e, `the lease ran out ${Math.round(now - e.tenure.validUntil + this.leaseMs)} ms after its last renewal (a renewal is still waiting for PostgreSQL, or the process stalled)`);
    }
  }

  /**
   * One round of renewals and takeover attempts, bounded by the lease: a round still running
   * after that (a connection that stopped answering) drops the connection, so the next round
   * starts on a new one, and nothing the stuck round finishes later is taken as a new tenure.
   */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    const round = ++this.round;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.leaseMs);
      timer.unref();
    });
    try {
      const outcome = await Promise.race([this.tickRound(round), bound]);
      if (outcome === 'timeout' && this.round === round) {
        this.round++;
        this.o.logger.warn({ leaseMs: this.leaseMs }, 'leadership: a lease round took longer than the lease; dropping the lease connection');
        if (this.client) this.loseAll('a lease round took longer than the lease (PostgreSQL stopped answering)');
      }
    } finally {
      clearTimeout(timer);
      this.ticking = false;
    }
  }

  private async tickRound(round: number): Promise<'done'> {
    try {
      if (!this.client) {
        this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
        try {
          await this.connecting;
        } catch (err) {
          this.connected = false;
          this.o.logger.warn({ err }, 'leadership: cannot reach PostgreSQL; retrying');
          return 'done';
        }
      }
      const client = this.client!;
      const current = () => round === this.round && !this.stopped;
      // Renewals first: a takeover attempt below may wait up to a poll for a lock.
      for (const e of this.entries.values()) if (e.tenure && current()) await this.renew(client, e, e.tenure);
      for (const e of this.entries.values()) if (!e.tenure && current()) await this.tryAcquire(client, e, current);
      if (this.entries.size === 0) await client.query('SELECT 1');
    } catch (err) {
      if (this.client && round === this.round) this.loseAll(`the lease connection failed: ${(err as Error).message}`);
    }
    return 'done';
  }

  private async renew(client: pg.Client, e: Entry, tenure: Tenure): Promise<void> {
    const sent = performance.now();
    if (sent >= tenure.validUntil) {
      // This process could not renew in time (it stalled, or PostgreSQL was slow): whatever the
      // row says, another process may hold the lease by now.
      this.end(e, `the lease ran out ${Math.round(sent - tenure.validUntil + this.leaseMs)} ms after its last renewal (the process stalled or could not reach PostgreSQL)`);
      return;
    }
    const r = await client.query(
      `WITH lease AS (
         UPDATE leader_leases SET expires_at = ${DB_NOW} + $4::bigint
         WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > ${DB_NOW}
         RETURNING tenure_id)
       UPDATE leader_tenures SET beat_at = $5 WHERE id IN (SELECT tenure_id FROM lease) RETURNING id`,
      [e.name, this.holder, tenure.epoch, this.leaseMs, Date.now()],
    );
    // (A late answer of a round that was given up may concern a tenure that has ended since.)
    if (e.tenure !== tenure) return;
    if (r.rowCount === 0) this.end(e, 'the lease expired or was taken over before this process renewed it');
    else tenure.validUntil = sent + this.leaseMs;
  }

  private async tryAcquire(client: pg.Client, e: Entry, current: () => boolean): Promise<void> {
    const sent = performance.now();
    const now = Date.now();
    await client.query('BEGIN');
    try {
      // A takeover waits (at most a poll, then tries again next time) for the fenced transactions
      // of the old holder, which hold KEY SHARE locks on the row.
      await client.query(`SELECT set_config('lock_timeout', $1, true)`, [String(this.o.pollMs)]);
      await client.query(`INSERT INTO leader_leases (name, holder, epoch, expires_at, tenure_id) VALUES ($1, '', 0, 0, 0) ON CONFLICT (name) DO NOTHING`, [e.name]);
      await client.query('SELECT 1 FROM leader_leases WHERE name = $1 FOR UPDATE', [e.name]);
      const won = await client.query<{ epoch: number }>(
        `UPDATE leader_leases SET holder = $2, epoch = epoch + 1, expires_at = ${DB_NOW} + $3::bigint
         WHERE name = $1 AND expires_at <= ${DB_NOW} RETURNING epoch`,
        [e.name, this.holder, this.leaseMs],
      );
      if (won.rowCount === 0) {
        await client.query('ROLLBACK');
        return;
      }
      const epoch = Number(won.rows[0]!.epoch);
      const t = await client.query<{ id: number }>('INSERT INTO leader_tenures (name, holder, started_at, beat_at) VALUES ($1, $2, $3, $3) RETURNING id', [e.name, this.holder, now]);
      const id = Number(t.rows[0]!.id);
      await client.query('UPDATE leader_leases SET tenure_id = $2 WHERE name = $1', [e.name, id]);
      await client.query('COMMIT');
      // A round that outlasted its bound was given up: its lease is left to expire.
      if (!current()) return;
      this.begin(e, id, epoch, sent + this.leaseMs);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
      this.o.logger.info({ leadership: e.name }, 'leadership: waiting for the previous holder’s last transaction to end');
    }
  }

  private begin(e: Entry, id: number, epoch: number, validUntil: number): void {
    const controller = new AbortController();
    const tenure: Tenure = { id, epoch, controller, validUntil };
    e.tenure = tenure;
    this.o.logger.info({ leadership: e.name, holder: this.holder, epoch }, 'leadership acquired');
    const lease: LeaderLease = {
      signal: controller.signal,
      holder: this.holder,
      assertHeld: (db) => this.assertHeld(e, tenure, db),
    };
    tenure.startTimer = setTimeout(() => {
      if (controller.signal.aborted) return;
      tenure.running = runTenure(e.name, e.fn, lease, this.o.logger);
    }, this.o.graceMs ?? this.o.pollMs);
  }

  private async assertHeld(e: Entry, tenure: Tenure, db?: Kysely<Database> | Transaction<Database>): Promise<void> {
    const lost = () => new KeelError('unavailable', `this process no longer leads ${e.name}`);
    if (tenure.controller.signal.aborted || e.tenure !== tenure || performance.now() >= tenure.validUntil) throw lost();
    if (!db) return;
    // A session stalled inside this transaction must not keep a takeover waiting beyond the lease.
    await sql`SELECT set_config('idle_in_transaction_session_timeout', ${String(this.leaseMs)}, true)`.execute(db);
    const r = await sql<{ n: number }>`
      SELECT 1 AS n FROM leader_leases
      WHERE name = ${e.name} AND holder = ${this.holder} AND epoch = ${tenure.epoch} AND expires_at > ${sql.raw(DB_NOW)}
      FOR KEY SHARE`.execute(db);
    if (r.rows.length === 0) throw lost();
  }

  async stop(steps = new ShutdownSteps()): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const running: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      if (!e.tenure) continue;
      clearTimeout(e.tenure.startTimer);
      e.tenure.controller.abort();
      const work = e.tenure.running;
      if (work) running.push(steps.step(`leader work ${e.name}`, () => work));
    }
    await Promise.all(running);
    while (this.ticking) await new Promise((r) => setTimeout(r, 10));
    const client = this.client;
    if (client) {
      const now = Date.now();
      for (const e of this.entries.values()) {
        if (!e.tenure) continue;
        // Hand the lease back so a standby takes it on its next poll.
        await client
          .query(
            `WITH lease AS (UPDATE leader_leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > ${DB_NOW} RETURNING tenure_id)
             UPDATE leader_tenures SET ended_at = $4, beat_at = $4 WHERE id IN (SELECT tenure_id FROM lease)`,
            [e.name, this.holder, e.tenure.epoch, now],
          )
          .catch(() => undefined);
        e.tenure = undefined;
      }
      this.client = undefined;
      await client.end().catch(() => undefined);
    }
  }
}

/** For roles that never lead (ingest, worker, api): leader work registered here never runs. */
export class NoLeadership implements Leadership {
  constructor(readonly holder: string) {}
  run(): void {}
  held(): string[] {
    return [];
  }
  names(): string[] {
    return [];
  }
  healthy(): boolean {
    return true;
  }
  async stop(): Promise<void> {}
}
